import PnyxCore

/// Where security events are kept. SQLite by default; PostgreSQL for fleets later.
public protocol EventStore: Sendable {
    /// Stores a batch of events. Throws if the store is unavailable; the writer counts them as dropped.
    func insert(_ events: [SecurityEvent]) async throws
    /// Recent events, newest first, optionally for one site.
    func recent(limit: Int, site: String?) async throws -> [SecurityEvent]
    /// How many events are stored.
    func count() async throws -> Int
}
