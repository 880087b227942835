import GRDB
import PnyxCore

/// Settings staff change from the dashboard or API on the night, kept across restarts and applied on top of
/// the YAML at every load (the same atomic rebuild as a reload).
public struct SiteOverrides: Sendable, Equatable {
    /// Site name → key → value. Keys: ``Key``.
    public var values: [String: [String: String]]

    public init(values: [String: [String: String]] = [:]) { self.values = values }

    public enum Key: String, Sendable, CaseIterable {
        /// `true` / `false`: the bot challenge for every non-critical path.
        case underAttack = "under_attack"
        /// `block` / `detect`.
        case wafMode = "waf_mode"
        /// A factor from 0.1 to 10 applied to every rate-limit budget of the site (0.5 halves them on the night of
        /// an attack; 2 doubles them when a legitimate rush hits a limit).
        case rateLimitScale = "rate_limit_scale"
        /// WAF exclusions added on top of the YAML's, one ``WAFPolicy/Exclusion/line`` per line.
        case wafExclusions = "waf_exclusions"

        public func validate(_ value: String) -> Bool {
            switch self {
            case .underAttack: return value == "true" || value == "false"
            case .wafMode: return value == "block" || value == "detect"
            case .rateLimitScale:
                guard let factor = Double(value) else { return false }
                return factor >= 0.1 && factor <= 10
            case .wafExclusions:
                let lines = value.split(separator: "\n")
                return !lines.isEmpty && lines.count <= 200 && lines.allSatisfy { WAFPolicy.Exclusion(line: String($0)) != nil }
            }
        }
    }

    public func value(site: String, _ key: Key) -> String? { values[site]?[key.rawValue] }
}

/// Where the night-of settings are kept: this node's control database, or the fleet's shared one.
public protocol SiteSettingsStore: Sendable {
    /// Every stored setting of every site.
    func overrides() async throws -> SiteOverrides
    /// Sets (or, with nil, clears) a site's setting, recording the change in the audit log. Returns whether it
    /// changed anything.
    @discardableResult
    func set(site: String, _ key: SiteOverrides.Key, to value: String?, by actor: Actor) async throws -> Bool
    /// Where the settings live, for the dashboard (`this node`, `the fleet database`).
    var scope: String { get }
}

public struct SiteSettings: SiteSettingsStore {
    public var scope: String { "this node's database (they apply to this node)" }
    let database: ControlDatabase
    let audit: AuditLog

    public init(database: ControlDatabase) {
        self.database = database
        self.audit = AuditLog(database: database)
    }

    public func overrides() async throws -> SiteOverrides {
        try await database.pool.read { db in Self.read(db) }
    }

    static func read(_ db: Database) -> SiteOverrides {
        var values: [String: [String: String]] = [:]
        for row in (try? Row.fetchAll(db, sql: "SELECT site, key, value FROM site_settings")) ?? [] {
            values[row["site"], default: [:]][row["key"]] = row["value"]
        }
        return SiteOverrides(values: values)
    }

    /// Sets (or, with nil, clears) a site's setting, with its before and after in the audit log. Returns whether it
    /// changed anything.
    @discardableResult
    public func set(site: String, _ key: SiteOverrides.Key, to value: String?, by actor: Actor) async throws -> Bool {
        if let value, !key.validate(value) { throw AccountError("'\(value)' is not a valid \(key.rawValue)") }
        let now = wallMillis()
        return try await audit.change { db in
            let before = try String.fetchOne(
                db, sql: "SELECT value FROM site_settings WHERE site = ? AND key = ?", arguments: [site, key.rawValue])
            guard before != value else { return (false, []) }
            if let value {
                try db.execute(
                    sql: """
                        INSERT INTO site_settings (site, key, value, changed_by, changed_ms) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(site, key) DO UPDATE SET value = excluded.value, changed_by = excluded.changed_by,
                        changed_ms = excluded.changed_ms
                        """, arguments: [site, key.rawValue, value, actor.name, now])
            } else {
                try db.execute(sql: "DELETE FROM site_settings WHERE site = ? AND key = ?", arguments: [site, key.rawValue])
            }
            let entry = try AuditLog.append(
                db, actor, action: "site.\(key.rawValue)", target: "site:\(site)", before: before.map { "\(key.rawValue)=\($0)" } ?? "(config)",
                after: value.map { "\(key.rawValue)=\($0)" } ?? "(config)")
            return (true, [entry])
        }
    }
}
