import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore
import PnyxDefense
import Testing

/// The test country database, built once per run by `Tests/Fixtures/make-country-db.py` (PyPI mmdb-writer).
enum CountryFixture {
    /// The database's path, or why it could not be built (a failed test, not a crashed test run).
    static let built: Result<String, TestFailure> = {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/make-country-db.py").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-countries-\(getpid()).mmdb").path
        let result = try? runBlocking("/usr/bin/env", ["python3", script, out])
        guard result?.status == 0 else {
            return .failure(TestFailure("cannot build the test country database (needs python3 and PyPI mmdb-writer): \(result?.error ?? "python3 failed")"))
        }
        return .success(out)
    }()

    static func path() throws -> String { try built.get() }
}

@Suite("Country rules (MaxMind database)")
struct CountryRuleTests {
    @Test("the database places IPv4 and IPv6 addresses, falls back to the registered country, and knows nothing else")
    func lookups() throws {
        let database = try CountryDatabase(path: try CountryFixture.path())
        #expect(database.databaseType == "GeoLite2-Country")
        #expect(database.country(of: IPAddress("198.51.100.7")!)?.description == "US")
        #expect(database.country(of: IPAddress("203.0.113.200")!)?.description == "RU")
        #expect(database.country(of: IPAddress("192.0.2.1")!)?.description == "FR")
        #expect(database.country(of: IPAddress("2001:db8:1::42")!)?.description == "DE")
        #expect(database.country(of: IPAddress("2001:db8:2::1")!) == nil)
        #expect(database.country(of: IPAddress("10.1.2.3")!) == nil)
        #expect(throws: CountryDatabase.OpenError.self) { try CountryDatabase(path: "/nonexistent.mmdb") }
        let notADatabase = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-bad-\(getpid()).mmdb").path
        try "not a database".write(toFile: notADatabase, atomically: true, encoding: .utf8)
        #expect(throws: CountryDatabase.OpenError.self) { try CountryDatabase(path: notADatabase) }
    }

    static let site = testSite()

    func decide(_ filter: AccessListFilter, _ address: String) -> String {
        let context = requestContext(site: Self.site, client: address)
        switch filter.requestHead(context) {
        case .continue: return context.allowListed ? "allow-listed" : "pass"
        case .block(let block): return "\(block.status.code) \(block.rule)"
        case .respond: return "respond"
        case .consume: return "consume"
        }
    }

    @Test("deny_countries refuses those countries; allow_countries refuses the others; unknown places and allow lists pass")
    func rules() throws {
        let database = try CountryDatabase(path: try CountryFixture.path())
        let deny = AccessListFilter(
            global: AccessRules(denyCountries: [CountryCode("RU")!]), trustedProxies: [], sites: [Self.site],
            countries: database)
        #expect(!deny.isEmpty)  // global country rules alone keep the filter in the chain
        #expect(decide(deny, "203.0.113.9") == "403 country")
        #expect(decide(deny, "198.51.100.9") == "pass")
        #expect(decide(deny, "10.0.0.1") == "pass")

        let only = AccessListFilter(
            global: AccessRules(allow: [CIDR("203.0.113.50/32")!], allowCountries: [CountryCode("US")!]),
            trustedProxies: [], sites: [Self.site], countries: database)
        #expect(decide(only, "198.51.100.9") == "pass")
        #expect(decide(only, "2001:db8:1::5") == "403 country")
        #expect(decide(only, "192.0.2.77") == "403 country")
        #expect(decide(only, "203.0.113.9") == "403 country")
        // An address on the allow list wins over the country rule; an unplaceable address is never refused.
        #expect(decide(only, "203.0.113.50") == "allow-listed")
        #expect(decide(only, "10.0.0.1") == "pass")
    }
}

@Suite("Country rules over real sockets")
struct CountryRuleLiveTests {
    @Test("a site's deny_countries answers 403 to clients placed there (behind a trusted proxy); others are served")
    func live() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(
                originPort: origin.port,
                extraTop: """
                    trusted_proxies: [127.0.0.0/8]
                    geoip: { database: \(try CountryFixture.path()) }
                    """,
                extraSite: "access: { deny_countries: [RU] }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let refused = try await RawHTTP.get(port: pnyx.httpPort, path: "/page", headers: [("X-Forwarded-For", "203.0.113.9")])
        #expect(refused.status == 403)
        #expect(refused.body.contains("from your location is not allowed"))
        let served = try await RawHTTP.get(port: pnyx.httpPort, path: "/page", headers: [("X-Forwarded-For", "198.51.100.9")])
        #expect(served.status == 200)
        #expect(origin.requests.filter { $0.path == "/page" }.count == 1)
        #expect(await eventually {
            ((try? await adminGET(pnyx, "/api/v1/events?limit=20"))?.body ?? "").contains("located in RU")
        })
    }

    @Test("country rules without a database, or an unreadable database, are refused at load with the reason")
    func configErrors() async throws {
        let dir = try PnyxProcess.makeDirectory()
        let noDatabase = dir.appendingPathComponent("a.yaml").path
        try siteConfig(originPort: 1, extraSite: "access: { deny_countries: [RU] }")
            .replacingOccurrences(of: "DATA_DIR", with: dir.path).write(toFile: noDatabase, atomically: true, encoding: .utf8)
        let first = try await run(PnyxProcess.binary.path, ["check-config", noDatabase])
        #expect(first.status == 1)
        #expect(first.error.contains("sites[0].access: country rules need a country database"))

        let garbage = dir.appendingPathComponent("garbage.mmdb").path
        try "garbage".write(toFile: garbage, atomically: true, encoding: .utf8)
        let badDatabase = dir.appendingPathComponent("b.yaml").path
        try siteConfig(originPort: 1, extraTop: "geoip: { database: \(garbage) }", extraSite: "access: { deny_countries: [RU] }")
            .replacingOccurrences(of: "DATA_DIR", with: dir.path).write(toFile: badDatabase, atomically: true, encoding: .utf8)
        let second = try await run(PnyxProcess.binary.path, ["check-config", badDatabase])
        #expect(second.status == 1)
        #expect(second.error.contains("cannot open the country database"))
    }
}
