import PnyxCore
import GRDB

/// Dashboard sessions: a random id in a `Secure; HttpOnly; SameSite=Strict` cookie, kept hashed at rest, with an
/// idle and an absolute expiry, and a CSRF token bound to the session.
public struct Sessions: Sendable {
    let database: ControlDatabase
    public var idleMillis: Int64
    public var absoluteMillis: Int64

    public init(database: ControlDatabase, idleMillis: Int64 = 30 * 60 * 1000, absoluteMillis: Int64 = 12 * 3600 * 1000) {
        self.database = database
        self.idleMillis = idleMillis
        self.absoluteMillis = absoluteMillis
    }

    public static let cookieName = "pnyx_session"

    public struct Session: Sendable, Equatable {
        public var user: StaffUser
        public var csrf: String
        public var createdMillis: Int64
    }

    /// Starts a session; returns the id for the cookie (shown once, stored only as a hash).
    public func start(user: String, client: String, now: Int64 = wallMillis()) async throws -> (id: String, csrf: String) {
        let id = Secrets.token(bytes: 32)
        let csrf = Secrets.token(bytes: 24)
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO sessions (id_hash, user, csrf, client, created_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [Secrets.digest(id), user, csrf, client, now, now])
            // Sessions past their absolute lifetime are swept on the way.
            try db.execute(sql: "DELETE FROM sessions WHERE created_ms < ?", arguments: [now - absoluteMillis])
        }
        return (id, csrf)
    }

    /// The live session for a cookie value, or nil (unknown, idle too long, too old, or the account is disabled or
    /// locked). Touches the session's last-seen time at most once a minute.
    public func resolve(_ id: String, now: Int64 = wallMillis()) async throws -> Session? {
        let hash = Secrets.digest(id)
        let found: (session: Session, lastSeen: Int64)? = try await database.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT s.csrf, s.created_ms AS session_created_ms, s.last_seen_ms, u.* FROM sessions s
                    JOIN users u ON u.name = s.user WHERE s.id_hash = ?
                    """, arguments: [hash]
            ).map { row in
                (Session(user: Accounts.user(row), csrf: row["csrf"], createdMillis: row["session_created_ms"]), row["last_seen_ms"])
            }
        }
        guard let found else { return nil }
        let created = found.session.createdMillis
        let lastSeen = found.lastSeen
        let user = found.session.user
        if now - lastSeen > idleMillis || now - created > absoluteMillis || user.disabled || user.lockedUntilMillis > now {
            try await end(id)
            return nil
        }
        if now - lastSeen > min(60_000, idleMillis / 4) {
            try await database.pool.write { db in
                try db.execute(sql: "UPDATE sessions SET last_seen_ms = ? WHERE id_hash = ?", arguments: [now, hash])
            }
        }
        return found.session
    }

    public func end(_ id: String) async throws {
        let hash = Secrets.digest(id)
        try await database.pool.write { db in try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [hash]) }
    }
}
