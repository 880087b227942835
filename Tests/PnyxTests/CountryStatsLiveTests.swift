import Foundation
import Testing

/// Top countries on the dashboard and in `/api/v1/stats`, from the configured country database, on a real pnyx.
@Suite("Top countries over real sockets")
struct CountryStatsLiveTests {
    @Test("refusals are counted by the country of their address; without a country database the dashboard says how to add one")
    func topCountries() async throws {
        let origin = try await TestOrigin.start()
        defer { Task { await origin.stop() } }
        let database = try CountryFixture.path()
        let yaml = siteConfig(
            originPort: origin.port,
            extraTop: "trusted_proxies: [127.0.0.1/32]\ngeoip: { database: \(database) }",
            extraSite: "waf: { engine: native }")
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop() } }
        // Three refusals from a Russian documentation range, one from a US one, one from an address the database
        // does not place.
        for address in ["203.0.113.5", "203.0.113.6", "203.0.113.5", "198.51.100.7", "10.1.2.3"] {
            let refused = try await RawHTTP.get(
                port: pnyx.httpPort, path: "/page?q=%27%20OR%201%3D1--", headers: [("X-Forwarded-For", address)])
            #expect(refused.status == 403)
        }
        let counted = try await eventually {
            try await adminGET(pnyx, "/api/v1/stats").body.contains(#"{"count":3,"value":"RU"}"#)
        }
        let stats = try await adminGET(pnyx, "/api/v1/stats").body
        #expect(counted, "\(stats)")
        #expect(stats.contains(#""top_countries":[{"count":3,"value":"RU"},{"count":1,"value":"US"},{"count":1,"value":"unknown"}]"#), "\(stats)")

        let cookie = try await ControlPlaneLiveTests.signIn(pnyx, "dana")
        let overview = try await ControlPlaneLiveTests.admin(pnyx, "GET", "/", headers: [("Cookie", cookie)])
        #expect(overview.body.contains("Top countries") && overview.body.contains("<td>RU</td>"), "\(overview.body.suffix(3000))")

        // Without geoip: the API leaves the field out and the page says what to add.
        await pnyx.stop()
        let plain = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port), directory: pnyx.directory)
        defer { Task { await plain.stop() } }
        #expect(!(try await adminGET(plain, "/api/v1/stats").body.contains("top_countries")))
        let plainCookie = try await ControlPlaneLiveTests.signIn(plain, "erin")
        let page = try await ControlPlaneLiveTests.admin(plain, "GET", "/", headers: [("Cookie", plainCookie)])
        #expect(page.body.contains("Add <code>geoip:"), "\(page.body.suffix(2000))")
    }
}
