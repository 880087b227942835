import Foundation
import Testing
@testable import PnyxAdmin
import PnyxControl
import PnyxCore

/// The night-of settings beyond under-attack mode, on a real pnyx: a factor on the rate-limit budgets, WAF
/// exclusions added from the API, and a manual ban; each takes effect on the proxy at once and the first two
/// survive a restart.
@Suite("Night-of settings over real sockets", .serialized)
struct NightSettingsLiveTests {
    static func post(_ pnyx: PnyxProcess, _ path: String, _ json: String) async throws -> RawHTTP.Response {
        try await ControlPlaneLiveTests.admin(
            pnyx, "POST", path, headers: [("Authorization", "Bearer \(pnyx.adminToken)"), ("Content-Type", "application/json")], body: json)
    }

    @Test("rate-limit scale, WAF exclusions and a manual ban apply at once; the settings survive a restart")
    func nightSettings() async throws {
        let origin = try await TestOrigin.start()
        defer { Task { await origin.stop() } }
        let dir = try PnyxProcess.makeDirectory()
        let yaml = siteConfig(
            originPort: origin.port,
            extraSite: """
                rate_limits:
                  - { name: page, match: { path: /page }, key: ip, requests: 6, period: 1m, timeout: 1m }
                waf: { engine: crs }
                """)
        let first = try await PnyxProcess.start(yaml: yaml, directory: dir)
        var pnyx = first

        // Halve the budget: 3 requests to /page pass, the 4th is refused.
        let scaled = try await Self.post(pnyx, "/api/v1/sites/county/rate-limit-scale", #"{"scale": 0.5}"#)
        #expect(scaled.status == 200, "\(scaled.body)")
        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status) }
        #expect(statuses == [200, 200, 200, 429], "\(statuses)")
        #expect(try await Self.post(pnyx, "/api/v1/sites/county/rate-limit-scale", #"{"scale": 50}"#).status == 400)

        // CRS refuses the SQL injection in q; an exclusion of CRS's attack-sqli rules for that argument lets it through.
        let attack = "/?q=1'%20OR%20'1'='1'--"
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: attack).status == 403)
        let excluded = try await Self.post(
            pnyx, "/api/v1/sites/county/waf-exclusions", #"{"exclusions": [{"tags": ["attack-sqli"], "path": "/", "arguments": ["q"]}]}"#)
        #expect(excluded.status == 200, "\(excluded.body)")
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: attack).status == 200)
        #expect(try await Self.post(pnyx, "/api/v1/sites/county/waf-exclusions", #"{"exclusions": [{"path": "/x"}]}"#).status == 400)
        let sites = try await adminGET(pnyx, "/api/v1/sites")
        #expect(sites.body.contains(#""rate_limit_scale":0.5"#) && sites.body.contains("tags=attack-sqli path=\\/ arguments=q"), "\(sites.body)")

        // Both survive a restart; the audit log has both changes with before and after.
        await first.stop()
        let second = try await PnyxProcess.start(yaml: yaml, directory: dir)
        defer { Task { await second.stop() } }
        pnyx = second
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: attack).status == 200)
        statuses = []
        for _ in 0..<4 { statuses.append(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status) }
        #expect(statuses.last == 429, "\(statuses)")
        let audit = try await adminGET(pnyx, "/api/v1/audit")
        #expect(audit.body.contains("rate_limit_scale") && audit.body.contains("waf_exclusions"))

        // A manual ban refuses the address on every site, is listed, and lifts.
        let banned = try await Self.post(pnyx, "/api/v1/bans", #"{"address": "127.0.0.1", "seconds": 600, "reason": "scanner"}"#)
        #expect(banned.status == 201, "\(banned.body)")
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/").status == 403)
        #expect(try await adminGET(pnyx, "/api/v1/bans").body.contains("scanner"))
        #expect(try await Self.post(pnyx, "/api/v1/bans", #"{"address": "not-an-ip"}"#).status == 400)
        let cleared = try await ControlPlaneLiveTests.admin(
            pnyx, "DELETE", "/api/v1/bans/127.0.0.1", headers: [("Authorization", "Bearer \(pnyx.adminToken)")])
        #expect(cleared.status == 200)
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/").status == 200)
    }

    @Test("an exclusion's stored line reads back to the same exclusion; malformed lines are refused")
    func exclusionLines() throws {
        let line = "rules=942100,942100-942199 tags=attack-sqli path=/search arguments=q,comment"
        let exclusion = try #require(WAFPolicy.Exclusion(line: line))
        #expect(exclusion.ruleIDs == [942100...942100, 942100...942199] && exclusion.tags == ["attack-sqli"])
        #expect(exclusion.pathPrefix == "/search" && exclusion.arguments == ["q", "comment"])
        #expect(exclusion.line == line)
        for bad in ["", "path=/x", "rules=abc", "rules=5-2", "path=x tags=a", "colour=red tags=a", "tags=a|b", "arguments=q"] {
            #expect(WAFPolicy.Exclusion(line: bad) == nil, "\(bad)")
        }
        #expect(SiteOverrides.Key.rateLimitScale.validate("0.5") && !SiteOverrides.Key.rateLimitScale.validate("0"))
        #expect(SiteOverrides.Key.wafExclusions.validate("tags=a\nrules=1") && !SiteOverrides.Key.wafExclusions.validate("tags=a\npath=/"))
    }
}

/// The dashboard's forms for the same controls, signed in as a county administrator (session cookie and CSRF).
@Suite("Night-of dashboard pages over real sockets")
struct NightPagesLiveTests {
    @Test("a county administrator publishes, scales rate limits, reads integrity, alerts and one event in full, from the dashboard")
    func dashboardForms() async throws {
        let origin = try await TestOrigin.start()
        // The native WAF on county (one refused request gives an event to look at).
        let yaml = ControlPlaneLiveTests.config(originPort: origin.port)
            .replacingOccurrences(of: "origins: [http://127.0.0.1:\(origin.port)]\n    waf: { engine: off }\n  - name: boone", with: "origins: [http://127.0.0.1:\(origin.port)]\n    waf: { engine: native }\n  - name: boone")
        #expect(yaml.contains("engine: native"))
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let password = "county clerk 2026 night"
        let totp = try await ControlPlaneLiveTests.createUser(pnyx, "carla", role: "county_admin", sites: ["county"], password: password)
        let signedIn = try await ControlPlaneLiveTests.login(pnyx, "carla", password, code: totp.code(at: ControlPlaneLiveTests.now()))
        let cookie = String(try #require(signedIn.header("set-cookie")).split(separator: ";")[0])
        func get(_ path: String) async throws -> RawHTTP.Response {
            try await ControlPlaneLiveTests.admin(pnyx, "GET", path, headers: [("Cookie", cookie)])
        }
        func form(_ path: String, _ body: String) async throws -> RawHTTP.Response {
            try await ControlPlaneLiveTests.admin(
                pnyx, "POST", path, headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")], body: body)
        }
        let page = try await get("/sites/county")
        #expect(page.status == 200 && page.body.contains("action=\"/sites/county/publish\"") && page.body.contains("as in the configuration file"))
        let csrf = try #require(page.body.range(of: #"name="csrf" value="([a-z0-9]+)""#, options: .regularExpression).map {
            String(page.body[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        })

        // Publish: fetched from the origin and stored.
        let published = try await form("/sites/county/publish", "csrf=\(csrf)&urls=%2Fpage")
        #expect(published.status == 200 && published.body.contains("<code>/page</code>"), "\(published.body)")
        #expect(origin.requests.contains { $0.path == "/page" })
        #expect(try await form("/sites/county/publish", "urls=%2Fpage").status == 403, "no CSRF token")

        // The rate-limit factor: stored, shown, and back to the file.
        let scaled = try await form("/sites/county/rate-limit-scale", "csrf=\(csrf)&scale=0.5")
        #expect(scaled.status == 303)
        #expect(try await get("/sites/county").body.contains("× 0.5"))
        #expect(try await form("/sites/county/rate-limit-scale", "csrf=\(csrf)&scale=20").status == 400)
        #expect(try await form("/sites/county/rate-limit-scale", "csrf=\(csrf)&scale=config").status == 303)
        #expect(try await get("/sites/county").body.contains("as in the configuration file"))
        #expect(try await form("/sites/boone/rate-limit-scale", "csrf=\(csrf)&scale=0.5").status == 403)

        // Integrity and alerts pages render for the county, not for the other one.
        let integrity = try await get("/sites/county/integrity")
        #expect(integrity.status == 200 && integrity.body.contains("Waiting for approval"))
        #expect(try await get("/sites/boone/integrity").status == 403)
        #expect(try await form("/sites/county/integrity/reject", "csrf=\(csrf)&path=%2Fnothing").status == 400)
        let alerts = try await get("/alerts")
        #expect(alerts.status == 200 && alerts.body.contains("<h1>Alerts</h1>") && !alerts.body.contains("Send a test alert"))

        // One event in full, found from its reference; another county's event is not shown.
        _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/?q=%3Cscript%3Ealert(1)%3C/script%3E", host: "vote.test")
        let found = await eventually {
            (try? await adminGET(pnyx, "/api/v1/events?site=county").body.contains("\"id\"")) == true
        }
        #expect(found)
        let events = try await adminGET(pnyx, "/api/v1/events?site=county")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(events.body.utf8)) as? [[String: Any]])
        let event = try #require(list.first)
        let id = try #require(event["id"] as? Int)
        let reference = try #require(event["request_id"] as? String)
        let detail = try await get("/events/\(id)")
        #expect(detail.status == 200 && detail.body.contains("Event \(id)") && detail.body.contains(reference))
        let byReference = try await get("/events?reference=\(reference)")
        #expect(byReference.body.contains("/events/\(id)"))
        #expect(try await get("/events/999999").status == 404)
    }
}
