import Foundation
import Logging
import NIOPosix
import PnyxCore
import PnyxFleet
import PostgresNIO
import Testing

/// The PostgreSQL server `scripts/test.sh` starts for the fleet tests (`scripts/test-postgres.sh`), named by
/// `PNYX_TEST_POSTGRES=host:port:user:password`. Each test gets a database of its own.
enum TestPostgres {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "PNYX_TEST_POSTGRES is not set: run the tests with scripts/test.sh, or `eval \"$(scripts/test-postgres.sh start)\"` first"
        }
    }

    static func server() throws -> (host: String, port: Int, user: String, password: String) {
        guard let value = ProcessInfo.processInfo.environment["PNYX_TEST_POSTGRES"] else { throw NotConfigured() }
        let parts = value.split(separator: ":", maxSplits: 3).map(String.init)
        guard parts.count == 4, let port = Int(parts[1]) else { throw NotConfigured() }
        return (parts[0], port, parts[2], parts[3])
    }

    /// A new, empty database on the test server, and the settings that reach it (plain TCP on loopback).
    static func freshDatabase() async throws -> PostgresSettings {
        let server = try server()
        let name = "pnyx_\(UUID().uuidString.prefix(8).lowercased())"
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: .init(host: server.host, port: server.port, username: server.user, password: server.password, database: "postgres", tls: .disable),
            id: 1, logger: Logger(label: "test-postgres"))
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test-postgres"))
        try await connection.close()
        return PostgresSettings(
            host: server.host, port: server.port, database: name, username: server.user, password: server.password, tls: .disable)
    }

    /// The YAML `fleet:` section for `settings`, with the password in a file under `directory`.
    static func fleetYAML(_ settings: PostgresSettings, node: String, directory: URL, poll: String = "1s") throws -> String {
        let passwordFile = directory.appendingPathComponent("postgres.password")
        try (settings.password ?? "").write(to: passwordFile, atomically: true, encoding: .utf8)
        return """
            fleet:
              node: \(node)
              poll: \(poll)
              postgres:
                host: \(settings.host)
                port: \(settings.port)
                database: \(settings.database)
                username: \(settings.username)
                password_file: \(passwordFile.path)
                tls: disable
            """
    }

    /// A fleet database handle for `settings`, with its pool running until `body` returns. The deadline is longer
    /// than a node's (5 s): a loaded 2-core CI machine runs dozens of suites beside these.
    static func withFleet<T: Sendable>(
        _ settings: PostgresSettings, node: String, deadline: Duration = .seconds(30), _ body: (FleetDatabase) async throws -> T
    ) async throws -> T {
        let fleet = try FleetDatabase(
            settings: FleetSettings(node: node, postgres: settings), node: node, group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test-fleet"), deadline: deadline)
        return try await fleet.withPool(body)
    }
}
