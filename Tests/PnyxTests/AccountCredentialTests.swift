import Foundation
import PnyxControl
import PnyxCore
import Testing

/// Changing one's own password and an administrator's reset, against the control database.
@Suite("Staff accounts: password change and reset")
struct AccountCredentialTests {
    static let start: Int64 = 1_800_000_000_000

    @Test("a password change needs the current password and a fresh code, ends the other sessions, and counts failures towards the lockout")
    func changePassword() async throws {
        let (control, _) = try temporaryControlPlane()
        let enrollment = try await control.accounts.create(name: "vic", role: .viewer, sites: [], password: "observer of results 7", by: cliActor)
        let totp = TOTP(secret: try #require(Base32.decode(enrollment.secret)))
        let kept = try await control.sessions.start(user: "vic", client: "198.51.100.1", now: Self.start)
        let other = try await control.sessions.start(user: "vic", client: "198.51.100.2", now: Self.start)
        func change(_ current: String, _ new: String, step: Int64) async throws -> Accounts.PasswordChange {
            let now = Self.start + step * 30_000
            return try await control.accounts.changePassword(
                name: "vic", current: current, code: totp.code(at: now / 1000), new: new, client: "198.51.100.1",
                keepingSession: kept.id, now: now)
        }
        await #expect(throws: AccountError.self) { try await change("observer of results 7", "short", step: 0) }
        #expect(try await change("not my password at all", "a new long passphrase 8", step: 1) == .refused)
        #expect(try await change("observer of results 7", "a new long passphrase 8", step: 2) == .changed)
        // The same code does not work twice.
        #expect(try await change("a new long passphrase 8", "another long passphrase 9", step: 2) == .refused)

        #expect(try await control.sessions.resolve(kept.id, now: Self.start + 60_000) != nil, "the session that changed it stays")
        #expect(try await control.sessions.resolve(other.id, now: Self.start + 60_000) == nil, "other sessions end")
        let later = Self.start + 10 * 30_000
        #expect(try await control.accounts.login(name: "vic", password: "observer of results 7", code: totp.code(at: later / 1000), client: "x", now: later) == .failure)
        let next = later + 30_000
        guard case .success = try await control.accounts.login(name: "vic", password: "a new long passphrase 8", code: totp.code(at: next / 1000), client: "x", now: next) else {
            Issue.record("the new password signs in")
            return
        }
        // Wrong current passwords count like failed sign-ins: five lock the account.
        var outcome = Accounts.PasswordChange.refused
        for step in 20..<25 { outcome = try await change("wrong guess number \(step)", "a third long passphrase 1", step: Int64(step)) }
        guard case .locked = outcome else {
            Issue.record("five failures lock the account, got \(outcome)")
            return
        }
        let actions = try await control.audit.entries(limit: 50).map(\.action)
        #expect(actions.contains("user.password") && actions.contains("user.locked"))
    }

    @Test("a reset gives a new password and authenticator secret, clears the lock and ends every session")
    func reset() async throws {
        let (control, _) = try temporaryControlPlane()
        let first = try await control.accounts.create(name: "carla", role: .countyAdmin, sites: ["adams"], password: "county desk password 3", by: cliActor)
        let oldTOTP = TOTP(secret: try #require(Base32.decode(first.secret)))
        let session = try await control.sessions.start(user: "carla", client: "x")
        for n in 0..<5 {
            _ = try await control.accounts.login(name: "carla", password: "wrong \(n)", code: "000000", client: "x")
        }
        #expect(try await control.accounts.user(named: "carla")?.lockedUntilMillis ?? 0 > wallMillis())

        let (password, enrollment) = try await control.accounts.reset(name: "carla", by: cliActor)
        #expect(enrollment.secret != first.secret && password.count >= 24)
        let user = try #require(try await control.accounts.user(named: "carla"))
        #expect(user.lockedUntilMillis == 0 && !user.enrolled && user.role == .countyAdmin && user.sites == ["adams"])
        #expect(try await control.sessions.resolve(session.id) == nil)
        let now = wallMillis()
        #expect(try await control.accounts.login(name: "carla", password: password, code: oldTOTP.code(at: now / 1000), client: "x") == .failure,
            "the old authenticator no longer works")
        let newTOTP = TOTP(secret: try #require(Base32.decode(enrollment.secret)))
        guard case .success = try await control.accounts.login(name: "carla", password: password, code: newTOTP.code(at: now / 1000 + 30), client: "x") else {
            Issue.record("the new password and authenticator sign in")
            return
        }
        await #expect(throws: AccountError.self) { try await control.accounts.reset(name: "nobody", by: cliActor) }
        #expect(try await control.audit.entries(limit: 1).first?.action == "login")
        #expect(try await control.audit.entries(limit: 10).contains { $0.action == "user.reset" && $0.target == "user:carla" })
    }
}
