import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PnyxCore
import PostgresNIO

/// The fleet's shared PostgreSQL database: one connection pool per node, the schema (created or upgraded by
/// whichever node starts first, under an advisory lock), and a deadline on every call, so a database that is
/// down or unreachable makes a caller fail in seconds instead of waiting for the pool to connect.
public final class FleetDatabase: Sendable {
    public let node: String
    let client: PostgresClient
    let logger: Logger
    /// The longest any one call waits (for a connection and its answer).
    let deadline: Duration

    public init(settings: FleetSettings, node: String, group: any EventLoopGroup, logger: Logger, deadline: Duration = .seconds(5)) throws {
        let postgres = settings.postgres
        let tls: PostgresClient.Configuration.TLS
        switch postgres.tls {
        case .disable:
            tls = .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile = postgres.caFile {
                configuration.additionalTrustRoots = [.file(caFile)]
            }
            tls = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: postgres.host, port: postgres.port, username: postgres.username, password: postgres.password,
            database: postgres.database, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 8
        configuration.options.additionalStartupParameters = [("application_name", "pnyx \(node)")]
        // The pool logs every failed connection attempt at info level; this node says once that the database is
        // unreachable (FleetService), so only the pool's warnings and errors are kept.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        self.client = PostgresClient(configuration: configuration, eventLoopGroup: group, backgroundLogger: background)
        self.node = node
        self.logger = logger
        self.deadline = deadline
    }

    /// The pool's background work: run it for as long as the database is used (cancel to close).
    public func run() async { await client.run() }

    /// Runs `body` with the pool at work, and closes the pool after it (for a command or a test).
    public func withPool<T>(_ body: (FleetDatabase) async throws -> T) async throws -> T {
        let pool = Task { await run() }
        defer { pool.cancel() }
        return try await body(self)
    }

    /// Runs `body` against the pool, failing with ``FleetDatabaseError/timedOut`` after the deadline.
    func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = self.client
        let deadline = self.deadline
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask {
                do {
                    return try await body(client)
                } catch let error as PSQLError {
                    throw FleetDatabaseError.failed(what, FleetDatabaseError.explain(error))
                } catch let error as PostgresTransactionError {
                    let inner = (error.closureError ?? error.beginError ?? error.commitError).map { inner in
                        (inner as? PSQLError).map(FleetDatabaseError.explain) ?? "\(inner)"
                    }
                    throw FleetDatabaseError.failed(what, inner ?? "\(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw FleetDatabaseError.timedOut(what, deadline)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Creates or upgrades the shared tables. Nodes starting together take turns (an advisory lock), and each
    /// step is recorded so it runs once per database.
    public func migrate() async throws {
        let logger = self.logger
        try await call("migrating the fleet database") { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7305698)", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS pnyx_migrations (name TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)", logger: logger)
                var applied = Set<String>()
                for try await name in try await connection.query("SELECT name FROM pnyx_migrations", logger: logger).decode(String.self) {
                    applied.insert(name)
                }
                for (name, statements) in FleetSchema.migrations where !applied.contains(name) {
                    for statement in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO pnyx_migrations (name, applied_ms) VALUES (\(name), \(wallMillis()))", logger: logger)
                }
            }
        }
    }
}

public enum FleetDatabaseError: Error, CustomStringConvertible {
    case timedOut(String, Duration)
    case failed(String, String)

    public var description: String {
        switch self {
        case .timedOut(let what, let after): "the fleet database did not answer within \(after) (\(what))"
        case .failed(let what, let why): "the fleet database refused \(what): \(why)"
        }
    }

    /// The server's message (PostgresNIO's own description hides it), or the connection problem; never the
    /// query's values.
    static func explain(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return error.underlying.map { "\(error.code): \($0)" } ?? "\(error.code)"
    }
}

/// The shared tables, in the order they were introduced.
enum FleetSchema {
    static let migrations: [(String, [String])] = [
        (
            "v1-fleet",
            [
                """
                CREATE TABLE security_events (
                    id BIGSERIAL PRIMARY KEY, node TEXT NOT NULL, time_ms BIGINT NOT NULL, site TEXT NOT NULL,
                    client TEXT NOT NULL, filter TEXT NOT NULL, rule TEXT NOT NULL, action TEXT NOT NULL,
                    method TEXT NOT NULL, path TEXT NOT NULL, evidence TEXT NOT NULL, request_id TEXT NOT NULL)
                """,
                "CREATE INDEX security_events_site_time ON security_events (site, time_ms)",
                "CREATE INDEX security_events_time ON security_events (time_ms)",
                "CREATE INDEX security_events_request_id ON security_events (request_id)",
                """
                CREATE TABLE traffic_hours (
                    site TEXT NOT NULL, node TEXT NOT NULL, hour_ms BIGINT NOT NULL, requests BIGINT NOT NULL,
                    blocked BIGINT NOT NULL, PRIMARY KEY (site, node, hour_ms))
                """,
                """
                CREATE TABLE site_settings (
                    site TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, changed_by TEXT NOT NULL,
                    changed_node TEXT NOT NULL, changed_ms BIGINT NOT NULL, PRIMARY KEY (site, key))
                """,
            ]
        )
    ]
}
