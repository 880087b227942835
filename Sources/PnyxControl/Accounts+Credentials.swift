import GRDB
import PnyxCore

/// Changing a password, and an administrator's reset for a forgotten password or a lost authenticator.
extension Accounts {
    /// A strong password made here (120 random bits, as `abcd-efgh-…`), for accounts created or reset without one.
    public static func generatedPassword() -> String {
        let raw = Base32.encode(Secrets.bytes(15)).lowercased()
        return stride(from: 0, to: raw.count, by: 4).map { String(raw.dropFirst($0).prefix(4)) }.joined(separator: "-")
    }

    public enum PasswordChange: Sendable, Equatable {
        case changed
        /// The current password or the code is wrong (counted towards the lockout, as a failed sign-in).
        case refused
        case locked(until: Int64)
    }

    /// Changes a user's own password: the current password and a fresh authenticator code are checked exactly as
    /// at sign-in (a wrong one counts towards the lockout, a code works once). The user's other sessions end;
    /// the one whose id hashes to `keepingSession` stays.
    public func changePassword(
        name: String, current: String, code: String, new: String, client: String, keepingSession: String?, now: Int64 = wallMillis()
    ) async throws -> PasswordChange {
        if let problem = PasswordHasher.weakness(of: new, user: name) { throw AccountError(problem) }
        if new == current { throw AccountError("the new password is the same as the current one") }
        switch try await login(name: name, password: current, code: code, client: client, now: now) {
        case .failure: return .refused
        case .locked(let until): return .locked(until: until)
        case .success: break
        }
        let hasher = self.hasher
        let hash = try await Self.offload { try hasher.hash(new) }
        let keep = keepingSession.map(Secrets.digest) ?? ""
        let actor = Actor(name: name, via: "session", client: client)
        try await audit.change { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE name = ?", arguments: [hash, name])
            try db.execute(sql: "DELETE FROM sessions WHERE user = ? AND id_hash != ?", arguments: [name, keep])
            let entry = try AuditLog.append(
                db, actor, action: "user.password", target: "user:\(name)", before: "", after: "changed by the user; other sessions ended")
            return ((), [entry])
        }
        return .changed
    }

    /// A state administrator's reset: a new generated password and a new authenticator secret (the old phone no
    /// longer works), the lock cleared, every session ended. The user enrols again at the next sign-in. Returns
    /// the password and enrolment to hand over, once.
    public func reset(name: String, by actor: Actor) async throws -> (password: String, enrollment: Enrollment) {
        let password = Self.generatedPassword()
        let hasher = self.hasher
        let hash = try await Self.offload { try hasher.hash(password) }
        let secret = TOTP.newSecret()
        try await audit.change { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) == true else {
                throw AccountError("no user named '\(name)'")
            }
            try db.execute(
                sql: """
                    UPDATE users SET password_hash = ?, totp_secret = ?, totp_last_step = -1, enrolled = 0, failed_logins = 0,
                    locked_until_ms = 0 WHERE name = ?
                    """, arguments: [hash, Secrets.hex(secret), name])
            try db.execute(sql: "DELETE FROM sessions WHERE user = ?", arguments: [name])
            let entry = try AuditLog.append(
                db, actor, action: "user.reset", target: "user:\(name)", before: "",
                after: "new password and authenticator secret; sessions ended")
            return ((), [entry])
        }
        return (password, Enrollment(user: name, secret: Base32.encode(secret), uri: TOTP(secret: secret).provisioningURI(account: name)))
    }
}
