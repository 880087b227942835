import PnyxCore
import GRDB

/// A token for automation, as listed (never the secret).
public struct APITokenInfo: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var sites: [String]
    public var createdBy: String
    public var createdMillis: Int64
    public var revokedMillis: Int64?
    public var lastUsedMillis: Int64?
}

/// Scoped, revocable API tokens for scripts (`Authorization: Bearer pnyx_<id>_<secret>`), kept as SHA-256 hashes.
public struct APITokens: Sendable {
    let database: ControlDatabase
    let audit: AuditLog

    public init(database: ControlDatabase) {
        self.database = database
        self.audit = AuditLog(database: database)
    }

    public static let prefix = "pnyx_"

    /// Creates a token; the returned text is shown once.
    public func create(name: String, role: Role, sites: [String], by actor: Actor) async throws -> (token: String, info: APITokenInfo) {
        guard !name.isEmpty, name.count <= 100 else { throw AccountError("a token needs a name (up to 100 characters)") }
        if role == .countyAdmin && sites.isEmpty { throw AccountError("a county administrator token needs at least one site") }
        let id = Secrets.hex(Secrets.bytes(6))
        let token = "\(Self.prefix)\(id)_\(Secrets.token(bytes: 32))"
        let storedSites = role == .stateAdmin ? [] : sites.sorted()
        let now = wallMillis()
        try await audit.change { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (id, hash, name, role, sites, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, Secrets.digest(token), name, role.rawValue, storedSites.joined(separator: ","), actor.name, now])
            let entry = try AuditLog.append(
                db, actor, action: "token.create", target: "token:\(id)", before: "",
                after: "name=\(name) role=\(role.rawValue) sites=\(storedSites.joined(separator: ","))")
            return ((), [entry])
        }
        return (token, APITokenInfo(id: id, name: name, role: role, sites: storedSites, createdBy: actor.name, createdMillis: now))
    }

    /// The principal a presented token stands for, or nil (unknown, malformed or revoked).
    public func resolve(_ token: String) async throws -> Principal? {
        guard token.hasPrefix(Self.prefix) else { return nil }
        let parts = token.dropFirst(Self.prefix.count).split(separator: "_", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let id = String(parts[0])
        let hash = Secrets.digest(token)
        let found: (info: APITokenInfo, hash: String)? = try await database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE id = ? AND revoked_ms IS NULL", arguments: [id])
                .map { (Self.info($0), $0["hash"]) }
        }
        guard let found, Secrets.equal(Array(found.hash.utf8), Array(hash.utf8)) else { return nil }
        let now = wallMillis()
        if now - (found.info.lastUsedMillis ?? 0) > 60_000 {
            try await database.pool.write { db in
                try db.execute(sql: "UPDATE api_tokens SET last_used_ms = ? WHERE id = ?", arguments: [now, id])
            }
        }
        return Principal(name: "token:\(found.info.name)", role: found.info.role, sites: Set(found.info.sites), via: .token)
    }

    public func list() async throws -> [APITokenInfo] {
        try await database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created_ms").map(Self.info)
        }
    }

    static func info(_ row: Row) -> APITokenInfo {
        let sites: String = row["sites"]
        return APITokenInfo(
            id: row["id"], name: row["name"], role: Role(rawValue: row["role"]) ?? .viewer,
            sites: sites.split(separator: ",").map(String.init), createdBy: row["created_by"],
            createdMillis: row["created_ms"], revokedMillis: row["revoked_ms"], lastUsedMillis: row["last_used_ms"])
    }

    /// Revokes a token; returns whether it was live.
    @discardableResult
    public func revoke(id: String, by actor: Actor) async throws -> Bool {
        let now = wallMillis()
        return try await audit.change { db in
            try db.execute(sql: "UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", arguments: [now, id])
            guard db.changesCount > 0 else { return (false, []) }
            let entry = try AuditLog.append(db, actor, action: "token.revoke", target: "token:\(id)", before: "live", after: "revoked")
            return (true, [entry])
        }
    }
}
