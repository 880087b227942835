import GRDB
import PnyxCore

/// Security events in an SQLite database (WAL mode) in the data directory.
public final class SQLiteEventStore: EventStore {
    private let database: DatabasePool

    /// Opens (and migrates) the database at `path`. Blocking: call at start-up, off the event loops.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "pnyx.events"
        self.database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-security-events") { db in
            try db.create(table: "security_events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time_ms", .integer).notNull()
                t.column("site", .text).notNull()
                t.column("client", .text).notNull()
                t.column("filter", .text).notNull()
                t.column("rule", .text).notNull()
                t.column("action", .text).notNull()
                t.column("method", .text).notNull()
                t.column("path", .text).notNull()
                t.column("evidence", .text).notNull()
                t.column("request_id", .text).notNull()
            }
            try db.create(index: "security_events_site_time", on: "security_events", columns: ["site", "time_ms"])
            try db.create(index: "security_events_time", on: "security_events", columns: ["time_ms"])
        }
        return migrator
    }

    public func insert(_ events: [SecurityEvent]) async throws {
        try await database.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO security_events (time_ms, site, client, filter, rule, action, method, path, evidence, request_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for event in events {
                try statement.execute(arguments: [
                    event.timeMillis, event.site, event.client, event.filter, event.rule, event.action.rawValue,
                    event.method, event.path, event.evidence, event.requestID,
                ])
            }
        }
    }

    public func recent(limit: Int, site: String?) async throws -> [SecurityEvent] {
        try await database.read { db in
            let rows: [Row]
            if let site {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM security_events WHERE site = ? ORDER BY id DESC LIMIT ?",
                    arguments: [site, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM security_events ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map { row in
                SecurityEvent(
                    timeMillis: row["time_ms"], site: row["site"], client: row["client"], filter: row["filter"],
                    rule: row["rule"], action: SecurityEvent.Action(rawValue: row["action"]) ?? .log,
                    method: row["method"], path: row["path"], evidence: row["evidence"], requestID: row["request_id"])
            }
        }
    }

    public func count() async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM security_events") ?? 0 }
    }
}
