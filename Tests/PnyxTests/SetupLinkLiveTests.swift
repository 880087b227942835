import Foundation
import Testing
@testable import PnyxControl

/// The first account from the one-time setup link that `pnyx serve` logs while no account exists.
@Suite("Setup link over real sockets")
struct SetupLinkLiveTests {
    @Test("the logged link creates the first state administrator once, shows the TOTP secret, and then is spent")
    func setupLink() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: ControlPlaneLiveTests.config(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let logged = await eventually { pnyx.stderr.contains("/setup?token=") }
        #expect(logged)
        let line = try #require(pnyx.stderr.split(separator: "\n").first { $0.contains("/setup?token=") })
        let start = try #require(line.range(of: "/setup?token="))
        let token = String(line[start.upperBound...].prefix { $0.isLetter || $0.isNumber })
        #expect(line.contains("http://127.0.0.1:\(pnyx.adminPort ?? 0)/setup?token=\(token)"))

        #expect(try await ControlPlaneLiveTests.admin(pnyx, "GET", "/setup?token=wrong").status == 404)
        let form = try await ControlPlaneLiveTests.admin(pnyx, "GET", "/setup?token=\(token)")
        #expect(form.status == 200 && form.body.contains("Create the account"))
        func post(_ body: String, origin: String? = nil) async throws -> RawHTTP.Response {
            var headers = [("Content-Type", "application/x-www-form-urlencoded")]
            if let origin { headers.append(("Origin", origin)) }
            return try await ControlPlaneLiveTests.admin(pnyx, "POST", "/setup", headers: headers, body: body)
        }
        let password = "state security desk 2026"
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        // From another site: refused. A weak password: refused, and the link still works.
        #expect(try await post("token=\(token)&user=sam&password=\(encoded)&confirm=\(encoded)", origin: "http://evil.example").status == 403)
        let weak = try await post("token=\(token)&user=sam&password=short&confirm=short")
        #expect(weak.status == 400 && weak.body.contains("12"))
        let created = try await post("token=\(token)&user=sam&password=\(encoded)&confirm=\(encoded)")
        #expect(created.status == 200 && created.body.contains("Account created"))
        #expect(created.body.contains(#"<svg class="qr""#), "the enrolment QR code is on the page")
        let secret = try #require(created.body.range(of: #"<code id="totp-secret">[A-Z2-7]+</code>"#, options: .regularExpression).map {
            String(created.body[$0].dropFirst(#"<code id="totp-secret">"#.count).dropLast("</code>".count))
        })
        // Spent: the form and a second use both fail.
        #expect(try await ControlPlaneLiveTests.admin(pnyx, "GET", "/setup?token=\(token)").status == 404)
        #expect(try await post("token=\(token)&user=eve&password=\(encoded)&confirm=\(encoded)").status == 404)

        // The new state administrator signs in with the enrolled TOTP.
        let totp = TOTP(secret: try #require(Base32.decode(secret)))
        let signedIn = try await ControlPlaneLiveTests.login(pnyx, "sam", password, code: totp.code(at: ControlPlaneLiveTests.now()))
        #expect(signedIn.status == 303)
        let cookie = String(try #require(signedIn.header("set-cookie")).split(separator: ";")[0])
        let me = try await ControlPlaneLiveTests.admin(pnyx, "GET", "/api/v1/me", headers: [("Cookie", cookie)])
        #expect(me.body.contains("\"role\":\"state_admin\""))
        let audit = try await adminGET(pnyx, "/api/v1/audit")
        #expect(audit.body.contains("setup-link"))
    }
}
