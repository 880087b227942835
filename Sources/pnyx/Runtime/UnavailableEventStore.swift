import PnyxCore
import PnyxStore

/// Used when the event database cannot be opened: every write fails (and is counted as dropped), so the data
/// path keeps serving.
struct UnavailableEventStore: EventStore {
    let reason: String
    struct Unavailable: Error, CustomStringConvertible {
        let reason: String
        var description: String { "event store unavailable: \(reason)" }
    }
    func insert(_ events: [SecurityEvent]) async throws { throw Unavailable(reason: reason) }
    func recent(limit: Int, site: String?) async throws -> [SecurityEvent] { throw Unavailable(reason: reason) }
    func count() async throws -> Int { throw Unavailable(reason: reason) }
}
