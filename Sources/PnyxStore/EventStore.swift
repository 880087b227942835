import PnyxCore

/// Where security events are kept. SQLite by default; PostgreSQL for fleets later.
public protocol EventStore: Sendable {
    /// Stores a batch of events. Throws if the store is unavailable; the writer counts them as dropped.
    func insert(_ events: [SecurityEvent]) async throws
    /// Recent events, newest first, optionally for one site.
    func recent(limit: Int, site: String?) async throws -> [SecurityEvent]
    /// How many events are stored.
    func count() async throws -> Int
    /// Events matching a query, newest first.
    func query(_ query: EventQuery) async throws -> [StoredEvent]
    /// Events per UTC day, site, filter and action in a time range (for the given sites, or all).
    func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount]
    /// Adds requests and refusals to a site's hour (`hourMillis` is the hour's start).
    func addTraffic(_ counts: [TrafficCount]) async throws
    /// Requests and refusals per UTC day and site in a time range.
    func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount]
    /// The most frequent values of `column` (`client` or `rule`) among refusals in a time range.
    func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue]
}


extension EventStore {
    public func addTraffic(_ counts: [TrafficCount]) async throws {}
    public func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount] { [] }
    public func query(_ query: EventQuery) async throws -> [StoredEvent] { [] }
    public func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount] { [] }
    public func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue] { [] }
}
