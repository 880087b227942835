import PnyxCore
import GRDB

/// The one-time link `pnyx serve` prints while no staff account exists: whoever opens it first (on the admin
/// listener, loopback by default) creates the first state administrator. The token is stored only as a SHA-256
/// hash, works once, expires after a day, and stops working as soon as any account exists.
public struct SetupLinks: Sendable {
    let database: ControlDatabase
    let accounts: Accounts
    public static let lifetimeMillis: Int64 = 24 * 3600 * 1000

    /// A new token (the previous unused ones are dropped), or nil when an account already exists.
    public func issue(now: Int64 = wallMillis()) async throws -> String? {
        guard try await accounts.count() == 0 else { return nil }
        let token = Secrets.token(bytes: 20)
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM setup_links WHERE used_ms IS NULL")
            try db.execute(
                sql: "INSERT INTO setup_links (hash, expires_ms) VALUES (?, ?)", arguments: [Secrets.digest(token), now + Self.lifetimeMillis])
        }
        return token
    }

    /// Whether `token` would be accepted now (for the form).
    public func isValid(_ token: String, now: Int64 = wallMillis()) async throws -> Bool {
        guard try await accounts.count() == 0 else { return false }
        return try await database.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM setup_links WHERE hash = ? AND used_ms IS NULL AND expires_ms > ?",
                arguments: [Secrets.digest(token), now]) ?? 0
        } == 1
    }

    /// Uses the token to create the first state administrator. The token is spent first (so two people racing
    /// with the same link cannot both get in) and given back only if the account could not be made (a weak
    /// password, a bad name).
    public func redeem(_ token: String, name: String, password: String, client: String, now: Int64 = wallMillis()) async throws -> Enrollment {
        guard try await accounts.count() == 0 else { throw AccountError("an account exists already: sign in instead") }
        let hash = Secrets.digest(token)
        let spent = try await database.pool.write { db -> Bool in
            try db.execute(
                sql: "UPDATE setup_links SET used_ms = ? WHERE hash = ? AND used_ms IS NULL AND expires_ms > ?", arguments: [now, hash, now])
            return db.changesCount == 1
        }
        guard spent else { throw AccountError("this setup link is not valid (used, expired, or replaced by a newer one)") }
        do {
            return try await accounts.create(
                name: name, role: .stateAdmin, sites: [], password: password, by: Actor(name: name, via: "setup-link", client: client))
        } catch {
            try await database.pool.write { db in
                try db.execute(sql: "UPDATE setup_links SET used_ms = NULL WHERE hash = ?", arguments: [hash])
            }
            throw error
        }
    }
}
