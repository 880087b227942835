import Foundation
import PnyxControl
import Testing

/// A staff member changes their own password on the dashboard; an administrator resets an account from the API;
/// both over real sockets.
@Suite("Staff accounts over real sockets", .serialized)
struct AccountLiveTests {
    @Test("the account page changes the password (CSRF, current password and code checked); a reset from the API signs in with the new secret")
    func changeAndReset() async throws {
        let origin = try await TestOrigin.start()
        defer { Task { await origin.stop() } }
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop() } }
        let password = "observer of results 7"
        let totp = try await ControlPlaneLiveTests.createUser(pnyx, "vic", role: "viewer", password: password)
        let signedIn = try await ControlPlaneLiveTests.login(pnyx, "vic", password, code: totp.code(at: ControlPlaneLiveTests.now()))
        #expect(signedIn.status == 303)
        let cookie = String(try #require(signedIn.header("set-cookie")).split(separator: ";")[0])
        let page = try await ControlPlaneLiveTests.admin(pnyx, "GET", "/account", headers: [("Cookie", cookie)])
        #expect(page.status == 200 && page.body.contains("Change your password"))
        let csrf = try #require(page.body.range(of: #"name="csrf" value="[a-z0-9]+""#, options: .regularExpression).map {
            String(page.body[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        })
        let form = [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")]
        // The sign-in used this step's code; the next step's is accepted once (one step of drift).
        let code = totp.code(at: ControlPlaneLiveTests.now() + 30)
        let newPassword = "a new long passphrase 8"
        let encoded = newPassword.replacingOccurrences(of: " ", with: "+")
        let body = "current=\(password.replacingOccurrences(of: " ", with: "+"))&new=\(encoded)&again=\(encoded)&code=\(code)"
        #expect(try await ControlPlaneLiveTests.admin(pnyx, "POST", "/account/password", headers: form, body: body).status == 403, "no CSRF token")
        let changed = try await ControlPlaneLiveTests.admin(pnyx, "POST", "/account/password", headers: form, body: "csrf=\(csrf)&" + body)
        #expect(changed.status == 200 && changed.body.contains("password-changed"), "\(changed.status) \(changed.body.suffix(800))")
        #expect(try await ControlPlaneLiveTests.admin(pnyx, "GET", "/api/v1/me", headers: [("Cookie", cookie)]).status == 200, "this session stays")

        // API tokens have no password to change.
        let token = try await ControlPlaneLiveTests.createToken(pnyx, role: "viewer", sites: [])
        let json = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        #expect(try await ControlPlaneLiveTests.admin(pnyx, "POST", "/api/v1/me/password", headers: json, body: #"{"current":"a","code":"1","new":"bbbbbbbbbbbbbbbb"}"#).status == 400)

        // An administrator resets vic (a lost phone): the session ends, the new password and secret sign in.
        let reset = try await ControlPlaneLiveTests.admin(
            pnyx, "POST", "/api/v1/users/vic/reset", headers: [("Authorization", "Bearer \(pnyx.adminToken)")])
        #expect(reset.status == 200)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(reset.body.utf8)) as? [String: String])
        let newSecret = try #require(answer["totp_secret"].flatMap(Base32.decode))
        let resetPassword = try #require(answer["password"])
        #expect(answer["totp_uri"]?.hasPrefix("otpauth://totp/") == true)
        #expect(try await ControlPlaneLiveTests.admin(pnyx, "GET", "/api/v1/me", headers: [("Cookie", cookie)]).status == 401)
        let again = try await ControlPlaneLiveTests.login(pnyx, "vic", resetPassword, code: TOTP(secret: newSecret).code(at: ControlPlaneLiveTests.now()))
        #expect(again.status == 303)
        let audit = try await adminGET(pnyx, "/api/v1/audit").body
        #expect(audit.contains("\"action\":\"user.password\"") && audit.contains("\"action\":\"user.reset\""))
    }
}
