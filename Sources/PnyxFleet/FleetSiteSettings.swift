import Logging
import PnyxControl
import PnyxCore
import PostgresNIO

/// The night-of settings (under attack, WAF mode, rate-limit factor, exclusions) of a fleet, in the shared
/// database: a change made on any node's dashboard or API is read by every node within its poll interval and
/// applied through the same atomic rebuild as a reload. The change's audit entry is written on the node where
/// it was made, inside the database transaction (no setting changes without its entry).
public struct FleetSiteSettings: SiteSettingsStore {
    let database: FleetDatabase
    let audit: AuditLog

    public init(database: FleetDatabase, audit: AuditLog) {
        self.database = database
        self.audit = audit
    }

    public var scope: String { "the fleet database (they apply on every node within seconds)" }

    public func overrides() async throws -> SiteOverrides {
        try await database.call("reading site settings") { client in
            var values: [String: [String: String]] = [:]
            for try await (site, key, value) in try await client.query("SELECT site, key, value FROM site_settings").decode(
                (String, String, String).self)
            {
                values[site, default: [:]][key] = value
            }
            return SiteOverrides(values: values)
        }
    }

    @discardableResult
    public func set(site: String, _ key: SiteOverrides.Key, to value: String?, by actor: Actor) async throws -> Bool {
        if let value, !key.validate(value) { throw AccountError("'\(value)' is not a valid \(key.rawValue)") }
        let node = database.node
        let audit = self.audit
        let logger = database.logger
        let name = key.rawValue
        return try await database.call("changing a site setting") { client in
            try await client.withTransaction(logger: logger) { connection in
                // Two nodes changing the same setting at once take turns on its row (or on the lock for a new one).
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(site + "\u{1F}" + name)))", logger: logger)
                var before: String?
                for try await current in try await connection.query(
                    "SELECT value FROM site_settings WHERE site = \(site) AND key = \(name)", logger: logger
                ).decode(String.self) {
                    before = current
                }
                guard before != value else { return false }
                if let value {
                    try await connection.query(
                        """
                        INSERT INTO site_settings (site, key, value, changed_by, changed_node, changed_ms)
                        VALUES (\(site), \(name), \(value), \(actor.name), \(node), \(wallMillis()))
                        ON CONFLICT (site, key) DO UPDATE SET value = excluded.value, changed_by = excluded.changed_by,
                            changed_node = excluded.changed_node, changed_ms = excluded.changed_ms
                        """, logger: logger)
                } else {
                    try await connection.query("DELETE FROM site_settings WHERE site = \(site) AND key = \(name)", logger: logger)
                }
                try await audit.append(
                    actor, action: "site.\(name)", target: "site:\(site)",
                    before: before.map { "\(name)=\($0)" } ?? "(config)",
                    after: (value.map { "\(name)=\($0)" } ?? "(config)") + " (fleet, from \(node))")
                return true
            }
        }
    }
}
