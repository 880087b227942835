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
        migrator.registerMigration("v2-traffic-hours") { db in
            try db.create(table: "traffic_hours") { t in
                t.column("site", .text).notNull()
                t.column("hour_ms", .integer).notNull()
                t.column("requests", .integer).notNull()
                t.column("blocked", .integer).notNull()
                t.primaryKey(["site", "hour_ms"])
            }
        }
        // Staff look up the reference a blocked voter quotes.
        migrator.registerMigration("v3-request-id-index") { db in
            try db.create(index: "security_events_request_id", on: "security_events", columns: ["request_id"])
        }
        return migrator
    }

    public func addTraffic(_ counts: [TrafficCount]) async throws {
        try await database.write { db in
            for c in counts {
                try db.execute(
                    sql: """
                        INSERT INTO traffic_hours (site, hour_ms, requests, blocked) VALUES (?, ?, ?, ?)
                        ON CONFLICT(site, hour_ms) DO UPDATE SET requests = requests + excluded.requests,
                        blocked = blocked + excluded.blocked
                        """, arguments: [c.site, c.startMillis / 3_600_000 * 3_600_000, c.requests, c.blocked])
            }
        }
    }

    public func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount] {
        try await database.read { db in
            let (sql, arguments) = Self.scope(sites: sites, from: fromMillis, to: toMillis)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT date(hour_ms / 1000, 'unixepoch') AS day, site, MIN(hour_ms) AS start, SUM(requests) AS r, SUM(blocked) AS b
                    FROM traffic_hours WHERE \(sql.replacingOccurrences(of: "time_ms", with: "hour_ms")) GROUP BY day, site ORDER BY day, site
                    """, arguments: arguments
            ).map { TrafficCount(day: $0["day"], site: $0["site"], startMillis: $0["start"], requests: $0["r"], blocked: $0["b"]) }
        }
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
            return rows.map(Self.event)
        }
    }

    static func event(_ row: Row) -> SecurityEvent {
        SecurityEvent(
            timeMillis: row["time_ms"], site: row["site"], client: row["client"], filter: row["filter"],
            rule: row["rule"], action: SecurityEvent.Action(rawValue: row["action"]) ?? .log,
            method: row["method"], path: row["path"], evidence: row["evidence"], requestID: row["request_id"])
    }

    /// `WHERE` clauses and arguments for a site list and time range.
    static func scope(sites: [String]?, from: Int64?, to: Int64?) -> (String, StatementArguments) {
        var clauses = ["1=1"]
        var arguments: StatementArguments = []
        if let sites {
            clauses.append("site IN (\(sites.isEmpty ? "NULL" : sites.map { _ in "?" }.joined(separator: ",")))")
            for site in sites { arguments += [site] }
        }
        if let from {
            clauses.append("time_ms >= ?")
            arguments += [from]
        }
        if let to {
            clauses.append("time_ms < ?")
            arguments += [to]
        }
        return (clauses.joined(separator: " AND "), arguments)
    }

    public func query(_ query: EventQuery) async throws -> [StoredEvent] {
        try await database.read { db in
            var (sql, arguments) = Self.scope(sites: query.sites, from: query.fromMillis, to: query.toMillis)
            if let filter = query.filter {
                sql += " AND filter = ?"
                arguments += [filter]
            }
            if let action = query.action {
                sql += " AND action = ?"
                arguments += [action.rawValue]
            }
            if let client = query.client {
                sql += " AND client = ?"
                arguments += [client]
            }
            if let rule = query.rule {
                sql += " AND instr(rule, ?) > 0"
                arguments += [rule]
            }
            if let requestID = query.requestID {
                sql += " AND request_id = ?"
                arguments += [requestID]
            }
            if let before = query.beforeID {
                sql += " AND id < ?"
                arguments += [before]
            }
            arguments += [max(1, min(query.limit, 1000))]
            return try Row.fetchAll(db, sql: "SELECT * FROM security_events WHERE \(sql) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map { StoredEvent(id: $0["id"], event: Self.event($0)) }
        }
    }

    public func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount] {
        try await database.read { db in
            let (sql, arguments) = Self.scope(sites: sites, from: fromMillis, to: toMillis)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT date(time_ms / 1000, 'unixepoch') AS day, site, filter, action, COUNT(*) AS n
                    FROM security_events WHERE \(sql) GROUP BY day, site, filter, action ORDER BY day, site, filter, action
                    """, arguments: arguments
            ).map { EventCount(day: $0["day"], site: $0["site"], filter: $0["filter"], action: $0["action"], count: $0["n"]) }
        }
    }

    public func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue] {
        try await database.read { db in
            let (sql, arguments) = Self.scope(sites: sites, from: fromMillis, to: toMillis)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(column.rawValue) AS value, COUNT(*) AS n FROM security_events
                    WHERE \(sql) AND action IN ('block', 'ban', 'challenge') GROUP BY value ORDER BY n DESC, value LIMIT ?
                    """, arguments: arguments + [limit]
            ).map { RankedValue(value: $0["value"], count: $0["n"]) }
        }
    }

    public func count() async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM security_events") ?? 0 }
    }
}
