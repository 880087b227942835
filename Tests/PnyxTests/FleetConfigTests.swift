import Foundation
import PnyxConfig
import PnyxCore
import Testing

@Suite("Fleet configuration")
struct FleetConfigTests {
    static let head = """
        listen: { http: 127.0.0.1:8080 }
        sites:
          - { name: county, hosts: [vote.example.gov], origins: [http://127.0.0.1:9000] }

        """

    @Test("the fleet: section is read into typed values, the password from a file; alerts take the node's name")
    func configuration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-fleet-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "s3cret pass\n".write(to: dir.appendingPathComponent("pg.password"), atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n".write(to: dir.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse(
            yaml: Self.head + """
                fleet:
                  node: edge-east-1
                  poll: 10s
                  postgres:
                    host: db.state.example.gov
                    port: 6432
                    database: elections
                    username: edge
                    password_file: \(dir.path)/pg.password
                    ca_file: \(dir.path)/ca.pem
                """, file: "pnyx.yaml")
        let fleet = try #require(config.fleet)
        #expect(fleet.node == "edge-east-1" && fleet.poll == .seconds(10))
        var expected = PostgresSettings(host: "db.state.example.gov", port: 6432, database: "elections", username: "edge", password: "s3cret pass")
        expected.caFile = "\(dir.path)/ca.pem"
        #expect(fleet.postgres == expected)
        #expect(fleet.postgres.tls == .require, "TLS with verification unless told otherwise")
        #expect(config.alerts.node == "edge-east-1")

        let minimal = try ConfigLoader.parse(yaml: Self.head + "fleet: { postgres: { host: 10.0.0.5 } }\n", file: "pnyx.yaml")
        #expect(minimal.fleet == FleetSettings(postgres: PostgresSettings(host: "10.0.0.5")))
        #expect(try ConfigLoader.parse(yaml: Self.head, file: "pnyx.yaml").fleet == nil, "no fleet: a node alone, on SQLite")
    }

    @Test("a bad fleet: section is refused with every error, each at its line")
    func configurationErrors() {
        let yaml = Self.head + """
            fleet:
              node: east 1
              poll: 0s
              postgres:
                port: 99999
                tls: maybe
                password_file: /nonexistent/pg.password
                pasword: x
            """
        var errors: [ConfigError] = []
        do { _ = try ConfigLoader.parse(yaml: yaml, file: "pnyx.yaml") } catch { errors = error.errors }
        let keys = errors.map { "\($0.key)@\($0.line)" }
        #expect(keys.contains("fleet.postgres.host@8"), "at the postgres: map: \(keys)")
        #expect(keys.contains("fleet.postgres.pasword@11"), "\(keys)")
        // With no host the rest of postgres: is still checked, and so is the rest of fleet:.
        #expect(keys.contains("fleet.node@5"), "\(keys)")
        #expect(keys.contains("fleet.poll@6"), "\(keys)")

        var second: [ConfigError] = []
        do {
            _ = try ConfigLoader.parse(
                yaml: Self.head + "fleet:\n  postgres:\n    host: db\n    port: 99999\n    tls: maybe\n    password_file: /nonexistent/pg.password\n",
                file: "pnyx.yaml")
        } catch { second = error.errors }
        let secondKeys = second.map { "\($0.key)@\($0.line)" }
        #expect(secondKeys.contains("fleet.postgres.port@7"), "\(secondKeys)")
        #expect(secondKeys.contains("fleet.postgres.tls@8"), "\(secondKeys)")
        #expect(secondKeys.contains("fleet.postgres.password_file@9"), "\(secondKeys)")
        var third: [ConfigError] = []
        do { _ = try ConfigLoader.parse(yaml: Self.head + "fleet: { node: east }\n", file: "pnyx.yaml") } catch { third = error.errors }
        #expect(third.map(\.key) == ["fleet.postgres"], "\(third.map(\.key))")
    }
}
