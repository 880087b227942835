import Foundation
import Testing

/// Two real pnyx nodes sharing one real PostgreSQL database: each sees the other's refusals, under-attack
/// mode turned on at one applies at both, and a node whose database is unreachable keeps serving with the
/// settings it last read.
@Suite("Fleet mode over real sockets", .serialized)
struct FleetLiveTests {
    static func config(originPort: Int, fleet: String) -> String {
        siteConfig(originPort: originPort, extraTop: fleet, extraSite: "waf: { engine: native }")
    }

    @Test("a refusal on one node is listed on the other; under-attack mode set on one applies on both; a node cut off keeps its settings")
    func twoNodes() async throws {
        let origin = try await TestOrigin.start()
        defer { Task { await origin.stop() } }
        let database = try await TestPostgres.freshDatabase()
        let eastDir = try PnyxProcess.makeDirectory()
        let westDir = try PnyxProcess.makeDirectory()
        let east = try await PnyxProcess.start(
            yaml: Self.config(originPort: origin.port, fleet: try TestPostgres.fleetYAML(database, node: "east", directory: eastDir)), directory: eastDir)
        defer { Task { await east.stop() } }
        let westYAML = Self.config(originPort: origin.port, fleet: try TestPostgres.fleetYAML(database, node: "west", directory: westDir))
        let west = try await PnyxProcess.start(yaml: westYAML, directory: westDir)

        // An injection refused at east is recorded in the shared database, so west's API lists it with its reference.
        let refused = try await RawHTTP.get(port: east.httpPort, path: "/page?q=%27%20OR%201%3D1--", host: "vote.test")
        #expect(refused.status == 403)
        let listed = try await eventually {
            try await adminGET(west, "/api/v1/events?site=county").body.contains("\"filter\":\"waf\"")
        }
        let westEvents = try await adminGET(west, "/api/v1/events?site=county").body
        #expect(listed, "west lists the refusal made at east: \(westEvents)")
        #expect(try await RawHTTP.get(port: west.httpPort, path: "/", host: "vote.test").status == 200)
        // `pnyx report` with west's configuration reads the shared database too: east's refusal is counted.
        let report = try await run(PnyxProcess.binary.path, ["report", "--site", "county", "--config", west.configPath])
        #expect(report.status == 0, "\(report.error)")
        #expect(report.output.contains("WAF") && report.output.contains("Blocked: 1"), "\(report.output)")

        // Under-attack mode turned on at east's API challenges visitors at west within its poll interval (1 s).
        let turnedOn = try await ControlPlaneLiveTests.admin(
            east, "POST", "/api/v1/sites/county/under-attack",
            headers: [("Authorization", "Bearer \(east.adminToken)"), ("Content-Type", "application/json")], body: #"{"on":true}"#)
        #expect(turnedOn.status == 200, "\(turnedOn.body)")
        #expect(try await RawHTTP.get(port: east.httpPort, path: "/", host: "vote.test").status == 403)
        let challenged = try await eventually { try await RawHTTP.get(port: west.httpPort, path: "/", host: "vote.test").status == 403 }
        #expect(challenged, "west applies the setting made at east")
        #expect(try await adminGET(west, "/api/v1/sites").body.contains("\"under_attack\":true"))
        // The change is in east's audit log, saying it went to the fleet.
        #expect(try await adminGET(east, "/api/v1/audit").body.contains("under_attack=true (fleet, from east)"))

        // West restarts while the database is unreachable: it serves, with under-attack mode still on (the
        // settings it last read), and says the database does not answer.
        #expect(await west.stop() == 0)
        let lost = westYAML.replacingOccurrences(of: "port: \(database.port)", with: "port: \(try unusedPort())")
        #expect(lost != westYAML)
        let cutOff = try await PnyxProcess.start(yaml: lost, directory: westDir)
        defer { Task { await cutOff.stop() } }
        #expect(try await RawHTTP.get(port: cutOff.httpPort, path: "/", host: "vote.test").status == 403)
        #expect(try await RawHTTP.get(port: cutOff.httpPort, path: "/page?q=%27%20OR%201%3D1--", host: "vote.test").status == 403)
        #expect(cutOff.log.contains("cannot reach the fleet database"), "\(cutOff.log.suffix(2000))")

        // Turned off at east, the site serves again at east.
        let turnedOff = try await ControlPlaneLiveTests.admin(
            east, "POST", "/api/v1/sites/county/under-attack",
            headers: [("Authorization", "Bearer \(east.adminToken)"), ("Content-Type", "application/json")], body: #"{"on":false}"#)
        #expect(turnedOff.status == 200)
        #expect(try await RawHTTP.get(port: east.httpPort, path: "/", host: "vote.test").status == 200)
    }
}
