import PnyxCore
import PnyxStore
import PostgresNIO

/// Security events and request counts of every node of a fleet, in the shared PostgreSQL database. Each row
/// says which node wrote it; reads (the dashboard, reports) see the whole fleet.
public struct PostgresEventStore: EventStore {
    let database: FleetDatabase

    public init(database: FleetDatabase) { self.database = database }

    /// A day in UTC, as the SQLite store writes it (`YYYY-MM-DD`).
    static func day(_ column: String) -> String {
        "to_char(to_timestamp(\(column) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    }

    public func insert(_ events: [SecurityEvent]) async throws {
        guard !events.isEmpty else { return }
        let node = database.node
        // One statement per batch: each column travels as an array.
        let query: PostgresQuery = """
            INSERT INTO security_events (node, time_ms, site, client, filter, rule, action, method, path, evidence, request_id)
            SELECT \(node), * FROM UNNEST(\(events.map(\.timeMillis))::BIGINT[], \(events.map(\.site))::TEXT[],
                \(events.map(\.client))::TEXT[], \(events.map(\.filter))::TEXT[], \(events.map(\.rule))::TEXT[],
                \(events.map(\.action.rawValue))::TEXT[], \(events.map(\.method))::TEXT[], \(events.map(\.path))::TEXT[],
                \(events.map(\.evidence))::TEXT[], \(events.map(\.requestID))::TEXT[])
            """
        try await database.call("storing \(events.count) events") { client in
            try await client.query(query)
        }
    }

    static let eventColumns = "id, time_ms, site, client, filter, rule, action, method, path, evidence, request_id"

    static func events(_ rows: PostgresRowSequence) async throws -> [StoredEvent] {
        var result: [StoredEvent] = []
        for try await (id, time, site, client, filter, rule, action, method, path, evidence, requestID) in rows.decode(
            (Int64, Int64, String, String, String, String, String, String, String, String, String).self)
        {
            result.append(
                StoredEvent(
                    id: id,
                    event: SecurityEvent(
                        timeMillis: time, site: site, client: client, filter: filter, rule: rule,
                        action: SecurityEvent.Action(rawValue: action) ?? .log, method: method, path: path, evidence: evidence,
                        requestID: requestID)))
        }
        return result
    }

    public func recent(limit: Int, site: String?) async throws -> [SecurityEvent] {
        var query = EventQuery()
        query.sites = site.map { [$0] }
        query.limit = limit
        return try await self.query(query).map(\.event)
    }

    public func query(_ query: EventQuery) async throws -> [StoredEvent] {
        var builder = QueryBuilder("SELECT \(Self.eventColumns) FROM security_events WHERE TRUE")
        builder.scope(sites: query.sites, from: query.fromMillis, to: query.toMillis)
        if let filter = query.filter { builder.append(" AND filter = \(builder.bind(filter))") }
        if let action = query.action { builder.append(" AND action = \(builder.bind(action.rawValue))") }
        if let client = query.client { builder.append(" AND client = \(builder.bind(client))") }
        if let rule = query.rule { builder.append(" AND strpos(rule, \(builder.bind(rule))) > 0") }
        if let requestID = query.requestID { builder.append(" AND request_id = \(builder.bind(requestID))") }
        if let before = query.beforeID { builder.append(" AND id < \(builder.bind(before))") }
        builder.append(" ORDER BY id DESC LIMIT \(builder.bind(Int64(max(1, min(query.limit, 1000)))))")
        let statement = builder.query
        return try await database.call("reading events") { client in try await Self.events(client.query(statement)) }
    }

    public func count() async throws -> Int {
        try await database.call("counting events") { client in
            var total: Int64 = 0
            for try await n in try await client.query("SELECT COUNT(*) FROM security_events").decode(Int64.self) { total = n }
            return Int(total)
        }
    }

    public func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount] {
        var builder = QueryBuilder("SELECT \(Self.day("time_ms")) AS day, site, filter, action, COUNT(*) FROM security_events WHERE TRUE")
        builder.scope(sites: sites, from: fromMillis, to: toMillis)
        builder.append(" GROUP BY day, site, filter, action ORDER BY day, site COLLATE \"C\", filter COLLATE \"C\", action COLLATE \"C\"")
        let statement = builder.query
        return try await database.call("counting events per day") { client in
            var counts: [EventCount] = []
            for try await (day, site, filter, action, n) in try await client.query(statement).decode(
                (String, String, String, String, Int64).self)
            {
                counts.append(EventCount(day: day, site: site, filter: filter, action: action, count: Int(n)))
            }
            return counts
        }
    }

    public func addTraffic(_ counts: [TrafficCount]) async throws {
        guard !counts.isEmpty else { return }
        let node = database.node
        let query: PostgresQuery = """
            INSERT INTO traffic_hours (site, node, hour_ms, requests, blocked)
            SELECT site, \(node), hour_ms, SUM(requests), SUM(blocked)
            FROM UNNEST(\(counts.map(\.site))::TEXT[], \(counts.map { $0.startMillis / 3_600_000 * 3_600_000 })::BIGINT[],
                \(counts.map { Int64($0.requests) })::BIGINT[], \(counts.map { Int64($0.blocked) })::BIGINT[])
                AS c(site, hour_ms, requests, blocked)
            GROUP BY site, hour_ms
            ON CONFLICT (site, node, hour_ms) DO UPDATE SET requests = traffic_hours.requests + excluded.requests,
                blocked = traffic_hours.blocked + excluded.blocked
            """
        try await database.call("storing request counts") { client in try await client.query(query) }
    }

    public func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount] {
        var builder = QueryBuilder(
            "SELECT \(Self.day("hour_ms")) AS day, site, MIN(hour_ms), SUM(requests)::BIGINT, SUM(blocked)::BIGINT FROM traffic_hours WHERE TRUE")
        builder.scope(sites: sites, from: fromMillis, to: toMillis, timeColumn: "hour_ms")
        builder.append(" GROUP BY day, site ORDER BY day, site COLLATE \"C\"")
        let statement = builder.query
        return try await database.call("reading request counts") { client in
            var counts: [TrafficCount] = []
            for try await (day, site, start, requests, blocked) in try await client.query(statement).decode(
                (String, String, Int64, Int64, Int64).self)
            {
                counts.append(TrafficCount(day: day, site: site, startMillis: start, requests: Int(requests), blocked: Int(blocked)))
            }
            return counts
        }
    }

    public func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue] {
        var builder = QueryBuilder(
            "SELECT \(column.rawValue) AS value, COUNT(*) AS n FROM security_events WHERE action IN ('block', 'ban', 'challenge')")
        builder.scope(sites: sites, from: fromMillis, to: toMillis)
        builder.append(" GROUP BY \(column.rawValue) ORDER BY n DESC, \(column.rawValue) COLLATE \"C\" LIMIT \(builder.bind(Int64(limit)))")
        let statement = builder.query
        return try await database.call("ranking refusals") { client in
            var ranked: [RankedValue] = []
            for try await (value, n) in try await client.query(statement).decode((String, Int64).self) {
                ranked.append(RankedValue(value: value, count: Int(n)))
            }
            return ranked
        }
    }
}
