import PnyxCore
import GRDB

/// The control plane's SQLite database (`<data_dir>/control.sqlite`, WAL): staff accounts, sessions, API tokens,
/// the audit log and settings changed from the dashboard. Separate from the event database so events can be
/// pruned or moved without touching identities.
public final class ControlDatabase: Sendable {
    let pool: DatabasePool
    public let path: String

    /// Opens (and migrates) the database. Blocking: call at start-up or from a command, not on an event loop.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "pnyx.control"
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        try Self.migrator.migrate(pool)
    }

    public static func path(dataDirectory: String) -> String { "\(dataDirectory)/control.sqlite" }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-control") { db in
            try db.create(table: "users") { t in
                t.primaryKey("name", .text)
                t.column("role", .text).notNull()
                t.column("sites", .text).notNull()
                t.column("password_hash", .text).notNull()
                t.column("totp_secret", .text).notNull()
                t.column("totp_last_step", .integer).notNull().defaults(to: -1)
                t.column("enrolled", .boolean).notNull().defaults(to: false)
                t.column("failed_logins", .integer).notNull().defaults(to: 0)
                t.column("locked_until_ms", .integer).notNull().defaults(to: 0)
                t.column("disabled", .boolean).notNull().defaults(to: false)
                t.column("created_ms", .integer).notNull()
            }
            try db.create(table: "sessions") { t in
                t.primaryKey("id_hash", .text)
                t.column("user", .text).notNull().indexed()
                t.column("csrf", .text).notNull()
                t.column("client", .text).notNull()
                t.column("created_ms", .integer).notNull()
                t.column("last_seen_ms", .integer).notNull()
            }
            try db.create(table: "api_tokens") { t in
                t.primaryKey("id", .text)
                t.column("hash", .text).notNull()
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("sites", .text).notNull()
                t.column("created_by", .text).notNull()
                t.column("created_ms", .integer).notNull()
                t.column("revoked_ms", .integer)
                t.column("last_used_ms", .integer)
            }
            try db.create(table: "audit_log") { t in
                t.primaryKey("seq", .integer)
                t.column("time_ms", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("via", .text).notNull()
                t.column("client", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text).notNull()
                t.column("before", .text).notNull()
                t.column("after", .text).notNull()
                t.column("prev_hash", .text).notNull()
                t.column("hash", .text).notNull()
            }
            // Append-only: the database itself refuses to change or remove an entry (the hash chain catches an
            // edit made by going around SQLite).
            try db.execute(
                sql: """
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
            try db.create(table: "site_settings") { t in
                t.column("site", .text).notNull()
                t.column("key", .text).notNull()
                t.column("value", .text).notNull()
                t.column("changed_by", .text).notNull()
                t.column("changed_ms", .integer).notNull()
                t.primaryKey(["site", "key"])
            }
        }
        migrator.registerMigration("v2-alerts") { db in
            try db.create(table: "alerts") { t in
                t.primaryKey("id", .text)
                t.column("time_ms", .integer).notNull().indexed()
                t.column("kind", .text).notNull()
                t.column("severity", .text).notNull()
                t.column("site", .text).notNull()
                t.column("title", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("suppressed", .integer).notNull()
                t.column("deliveries", .text).notNull()
            }
        }
        migrator.registerMigration("v3-setup-links") { db in
            try db.create(table: "setup_links") { t in
                t.primaryKey("hash", .text)
                t.column("expires_ms", .integer).notNull()
                t.column("used_ms", .integer)
            }
        }
        return migrator
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
