import Foundation
import Testing
@testable import PnyxAdmin
@testable import PnyxControl

/// The admin listener in a real pnyx: staff sign-in with TOTP, CSRF, lockout, every route's authorization from
/// the route table, settings that take effect on the proxy and survive a restart, and the audit chain.
@Suite("Control plane over real sockets")
struct ControlPlaneLiveTests {
    static func config(originPort: Int) -> String {
        """
        listen:
          http: 127.0.0.1:0
        admin:
          listen: 127.0.0.1:0
        data_dir: DATA_DIR
        sites:
          - name: county
            hosts: [vote.test]
            origins: [http://127.0.0.1:\(originPort)]
            waf: { engine: off }
          - name: boone
            hosts: [boone.test]
            origins: [http://127.0.0.1:\(originPort)]
            waf: { engine: off }
        """
    }

    static func admin(
        _ pnyx: PnyxProcess, _ method: String, _ path: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> RawHTTP.Response {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(pnyx.adminPort ?? 0)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if method != "GET" { text += "Content-Length: \(body.utf8.count)\r\n" }
        return RawHTTP.Response(raw: try await RawHTTP.exchange(port: pnyx.adminPort ?? 0, text + "\r\n" + body))
    }

    static func cli(_ pnyx: PnyxProcess, _ arguments: [String], stdin: String? = nil) async throws -> (status: Int32, output: String, error: String) {
        try await run(PnyxProcess.binary.path, ["admin"] + arguments + ["--config", pnyx.configPath], stdin: stdin)
    }

    /// Creates an account with the CLI; returns its TOTP.
    static func createUser(_ pnyx: PnyxProcess, _ name: String, role: String, sites: [String] = [], password: String) async throws -> TOTP {
        let created = try await cli(pnyx, ["create-user", name, "--role", role, "--password-stdin"] + sites.flatMap { ["--site", $0] }, stdin: password + "\n")
        #expect(created.status == 0, "\(created.error)")
        let line = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("TOTP secret:") })
        let secret = try #require(line.split(separator: " ").dropFirst(2).first)
        return TOTP(secret: try #require(Base32.decode(String(secret))))
    }

    static func createToken(_ pnyx: PnyxProcess, role: String, sites: [String]) async throws -> String {
        let created = try await cli(pnyx, ["create-token", "test \(role)", "--role", role] + sites.flatMap { ["--site", $0] })
        #expect(created.status == 0, "\(created.error)")
        let line = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("token ") })
        return String(try #require(line.split(separator: " ").last))
    }

    static func login(_ pnyx: PnyxProcess, _ user: String, _ password: String, code: String, origin: String? = nil) async throws -> RawHTTP.Response {
        let body = "user=\(user)&password=\(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&code=\(code)&next=%2F"
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let origin { headers.append(("Origin", origin)) }
        return try await admin(pnyx, "POST", "/login", headers: headers, body: body)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Creates a state administrator `name` and signs in as them; returns the session cookie (`pnyx_session=…`).
    static func signIn(_ pnyx: PnyxProcess, _ name: String, password: String = "a long enough password 1") async throws -> String {
        let totp = try await createUser(pnyx, name, role: "state_admin", password: password)
        let response = try await login(pnyx, name, password, code: totp.code(at: now()))
        #expect(response.status == 303)
        return String(try #require(response.header("set-cookie")).split(separator: ";")[0])
    }

    @Test("sign-in with password and TOTP sets a Secure, HttpOnly, SameSite=Strict session; changes need the CSRF token and take effect on the proxy and after a restart")
    func signInCSRFAndSettings() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port))
        defer { Task { await origin.stop() } }
        let password = "county clerk 2026 night"
        let totp = try await Self.createUser(pnyx, "carla", role: "county_admin", sites: ["county"], password: password)

        // The dashboard sends strangers to the sign-in page; the API answers 401.
        let anonymous = try await Self.admin(pnyx, "GET", "/")
        #expect(anonymous.status == 303 && anonymous.header("location") == "/login")
        #expect(try await Self.admin(pnyx, "GET", "/api/v1/me").status == 401)
        let form = try await Self.admin(pnyx, "GET", "/login")
        #expect(form.status == 200 && form.body.contains("name=\"code\""))
        #expect(form.header("content-security-policy")?.contains("default-src 'none'") == true)

        // A login posted from another origin is refused; a wrong code fails.
        #expect(try await Self.login(pnyx, "carla", password, code: totp.code(at: Self.now()), origin: "http://evil.example").status == 403)
        #expect(try await Self.login(pnyx, "carla", password, code: "000000").status == 401 || totp.code(at: Self.now()) == "000000")
        let signedIn = try await Self.login(pnyx, "carla", password, code: totp.code(at: Self.now()))
        #expect(signedIn.status == 303)
        let setCookie = try #require(signedIn.header("set-cookie"))
        for attribute in ["pnyx_session=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"] { #expect(setCookie.contains(attribute)) }
        let cookie = String(setCookie.split(separator: ";")[0])
        let me = try await Self.admin(pnyx, "GET", "/api/v1/me", headers: [("Cookie", cookie)])
        #expect(me.status == 200 && me.body.contains("\"name\":\"carla\"") && me.body.contains("county_admin"))

        // The site page carries the CSRF token; a change without it (or from another site) is refused.
        let page = try await Self.admin(pnyx, "GET", "/sites/county", headers: [("Cookie", cookie)])
        #expect(page.status == 200 && page.body.contains("Turn under-attack mode on"))
        let csrf = try #require(page.body.range(of: #"name="csrf" value="([a-z0-9]+)""#, options: .regularExpression).map {
            String(page.body[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        })
        let json = [("Cookie", cookie), ("Content-Type", "application/json")]
        #expect(try await Self.admin(pnyx, "POST", "/api/v1/sites/county/under-attack", headers: json, body: #"{"on":true}"#).status == 403)
        #expect(try await Self.admin(pnyx, "POST", "/api/v1/sites/county/under-attack", headers: json + [("X-CSRF-Token", "wrong")], body: #"{"on":true}"#).status == 403)
        #expect(try await Self.admin(pnyx, "POST", "/api/v1/sites/county/under-attack", headers: json + [("X-CSRF-Token", csrf), ("Sec-Fetch-Site", "cross-site")], body: #"{"on":true}"#).status == 403)
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "vote.test").status == 200)
        let toggled = try await Self.admin(
            pnyx, "POST", "/sites/county/under-attack", headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
            body: "csrf=\(csrf)&on=true")
        #expect(toggled.status == 303 && toggled.header("location") == "/sites/county")
        // On the proxy at once: the home page is now the challenge; the other county is untouched.
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "vote.test").status == 403)
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "boone.test").status == 200)
        // A county administrator cannot touch the other county.
        #expect(try await Self.admin(pnyx, "POST", "/api/v1/sites/boone/under-attack", headers: json + [("X-CSRF-Token", csrf)], body: #"{"on":true}"#).status == 403)
        let sites = try await Self.admin(pnyx, "GET", "/api/v1/sites", headers: [("Cookie", cookie)])
        #expect(sites.body.contains("\"name\":\"county\"") && !sites.body.contains("boone"))

        // The report counts the proxy's requests to county (one served, one challenged so far); the other county's
        // report is refused.
        let report = try await Self.admin(pnyx, "GET", "/api/v1/report?site=county", headers: [("Cookie", cookie)])
        #expect(report.status == 200)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(report.body.utf8)) as? [String: Any])
        #expect(summary["requests"] as? Int == 2 && summary["sites"] as? [String] == ["county"], "\(report.body)")
        #expect(try await Self.admin(pnyx, "GET", "/api/v1/report?site=boone", headers: [("Cookie", cookie)]).status == 403)
        let printable = try await Self.admin(pnyx, "GET", "/reports?site=county", headers: [("Cookie", cookie)])
        #expect(printable.status == 200 && printable.body.contains("Per day") && printable.body.contains("format=csv"))

        // Signing out ends the session.
        #expect(try await Self.admin(pnyx, "POST", "/logout", headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")], body: "csrf=\(csrf)").status == 303)
        #expect(try await Self.admin(pnyx, "GET", "/api/v1/me", headers: [("Cookie", cookie)]).status == 401)

        // The setting is stored: after a restart the site is still under attack, from the dashboard.
        #expect(await pnyx.stop() == 0)
        let restarted = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port), directory: pnyx.directory)
        defer { Task { await restarted.stop() } }
        #expect(try await RawHTTP.get(port: restarted.httpPort, path: "/", host: "vote.test").status == 403)
        let after = try await adminGET(restarted, "/api/v1/sites")
        #expect(after.body.contains("\"under_attack\":true,\"under_attack_source\":\"dashboard\""))

        // Each step is in the audit log, whose chain verifies.
        let audit = try await adminGET(restarted, "/api/v1/audit")
        for action in ["user.create", "login.failed", "login", "site.under_attack"] { #expect(audit.body.contains("\"action\":\"\(action)\"")) }
        #expect(audit.body.contains("\"after\":\"under_attack=true\""))
        let verified = try await Self.cli(restarted, ["audit", "verify"])
        #expect(verified.status == 0 && verified.output.contains("intact"))
    }

    @Test("five failed sign-ins lock the account (the right code is refused while locked); the address is throttled after ten")
    func lockout() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let password = "state security desk 9"
        let totp = try await Self.createUser(pnyx, "sam", role: "state_admin", password: password)
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(try await Self.login(pnyx, "sam", "not the password 1", code: totp.code(at: Self.now())).status) }
        #expect(statuses == [401, 401, 401, 401, 403])
        let locked = try await Self.login(pnyx, "sam", password, code: totp.code(at: Self.now()))
        #expect(locked.status == 403 && locked.body.contains("locked"))
        var throttled = 0
        for _ in 0..<6 where try await Self.login(pnyx, "nobody", "whatever password", code: "123456").status == 429 { throttled += 1 }
        #expect(throttled >= 1)
        let users = try await adminGET(pnyx, "/api/v1/users")
        #expect(users.body.contains("\"name\":\"sam\"") && !users.body.contains("password") && !users.body.contains("totp"))
    }

    @Test("every route in the table refuses another county's site to a county administrator, changes to a viewer, and administration to both")
    func routeTableAuthorization() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let county = try await Self.createToken(pnyx, role: "county_admin", sites: ["county"])
        let viewer = try await Self.createToken(pnyx, role: "viewer", sites: ["county"])
        let state = try await Self.createToken(pnyx, role: "state_admin", sites: [])

        func call(_ spec: AdminRouteSpec, token: String, site: String) async throws -> Int {
            var path = spec.path.replacingOccurrences(of: ":site", with: site).replacingOccurrences(of: ":address", with: "192.0.2.9")
                .replacingOccurrences(of: ":name", with: "nobody").replacingOccurrences(of: ":id", with: "000000000000")
            if spec.site == .query || spec.site == .optionalQuery { path += "?site=\(site)" }
            return try await Self.admin(
                pnyx, spec.method.rawValue, path, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: spec.changes ? #"{"site":"\#(site)"}"# : ""
            ).status
        }
        var checked = 0
        for spec in AdminRoutes.all {
            let scoped = spec.site != .none
            switch spec.permission {
            case .administer:
                #expect(try await call(spec, token: county, site: "county") == 403, "\(spec)")
                #expect(try await call(spec, token: viewer, site: "county") == 403, "\(spec)")
            case .operate:
                #expect(try await call(spec, token: county, site: "boone") == 403, "\(spec)")
                #expect(try await call(spec, token: viewer, site: "county") == 403, "\(spec)")
                let own = try await call(spec, token: county, site: "county")
                #expect(own != 403 && own != 401, "\(spec) refused its own county: \(own)")
            case .read:
                if scoped {
                    #expect(try await call(spec, token: county, site: "boone") == 403, "\(spec)")
                    #expect(try await call(spec, token: viewer, site: "boone") == 403, "\(spec)")
                }
                let own = try await call(spec, token: viewer, site: "county")
                #expect(own != 403 && own != 401, "\(spec) refused a viewer its own county: \(own)")
            }
            // A state administrator is never refused for lack of permission.
            #expect(try await call(spec, token: state, site: "boone") != 403, "\(spec)")
            checked += 1
        }
        #expect(checked == AdminRoutes.all.count && checked > 30)
        // Unknown and revoked tokens get 401.
        #expect(try await Self.admin(pnyx, "GET", "/api/v1/status", headers: [("Authorization", "Bearer pnyx_0000_nothing")]).status == 401)
        let id = String(county.dropFirst("pnyx_".count).prefix { $0 != "_" })
        #expect(try await Self.cli(pnyx, ["revoke-token", id]).status == 0)
        #expect(try await Self.admin(pnyx, "GET", "/api/v1/status", headers: [("Authorization", "Bearer \(county)")]).status == 401)
    }

    @Test("pnyx admin audit verify exits 1 when an entry is edited behind SQLite's back")
    func auditTamper() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port))
        defer { Task { await origin.stop() } }
        _ = try await Self.createToken(pnyx, role: "viewer", sites: [])
        _ = try await Self.createUser(pnyx, "vic", role: "viewer", password: "observer of results 7")
        #expect(try await Self.cli(pnyx, ["audit", "verify"]).status == 0)
        #expect(await pnyx.stop() == 0)
        let database = pnyx.directory.appendingPathComponent("data/control.sqlite").path
        let tamper = try await run("python3", [
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DROP TRIGGER audit_log_no_update'); "
                + "c.execute(\"UPDATE audit_log SET after='role=state_admin sites=' WHERE action='user.create'\"); c.commit()",
            database,
        ])
        #expect(tamper.status == 0, "\(tamper.error)")
        let verified = try await run(PnyxProcess.binary.path, ["admin", "audit", "verify", "--config", pnyx.configPath])
        #expect(verified.status == 1)
        #expect(verified.error.contains("was altered") && verified.error.contains("TAMPERED"))
    }
}

/// The dashboard in a real browser: run with the other Chromium suites after the rest (`scripts/test.sh`).
@Suite("Dashboard in headless Chromium")
struct DashboardBrowserTests {
    @Test("headless Chromium signs in with TOTP, turns under-attack mode on, the proxy challenges at once; screenshots saved")
    func chromium() async throws {
        let origin = try await TestOrigin.start()
        // County runs the native WAF, so there are refusals to chart.
        let yaml = ControlPlaneLiveTests.config(originPort: origin.port).replacingOccurrences(
            of: "hosts: [vote.test]\n    origins: [http://127.0.0.1:\(origin.port)]\n    waf: { engine: off }",
            with: "hosts: [vote.test]\n    origins: [http://127.0.0.1:\(origin.port)]\n    waf: { engine: native }")
        #expect(yaml.contains("engine: native"))
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let password = "election night desk 42"
        let totp = try await ControlPlaneLiveTests.createUser(pnyx, "dana", role: "state_admin", password: password)
        // Something to show: attacks refused and recorded as events.
        for _ in 0..<5 {
            #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page?q=%27%20OR%201%3D1--", host: "vote.test").status == 403)
        }
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "vote.test").status == 200)

        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/dashboard.py").path
        let browser = try await run(
            "python3", [script, "http://127.0.0.1:\(pnyx.adminPort ?? 0)", "dana", password, Base32.encode(totp.secret), "county", shots.path])
        #expect(browser.status == 0, "\(browser.output)\n\(browser.error.suffix(2000))")
        #expect(browser.output.contains("\"signed_in\": true") && browser.output.contains("\"under_attack\": \"ON\""))
        #expect(browser.output.contains("\"csp_errors\": []"))
        #expect(browser.output.contains("\"blocked_shown\": \"5\""), "the overview counts the 5 refusals")
        #expect(browser.output.contains("\"alerts_title\": \"Alerts\"") && browser.output.contains("\"integrity_title\": \"Integrity: county\""))
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "vote.test").status == 403)
        // The pages with charts and tables make larger images than the mostly empty alerts and integrity pages.
        for (name, least) in [("dashboard-overview.png", 20_000), ("dashboard-site.png", 20_000), ("dashboard-events.png", 20_000),
            ("dashboard-alerts.png", 5_000), ("dashboard-integrity.png", 5_000)] {
            let data = try Data(contentsOf: shots.appendingPathComponent(name))
            #expect(data.count > least && data.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(name): \(data.count) bytes")
        }
    }
}
