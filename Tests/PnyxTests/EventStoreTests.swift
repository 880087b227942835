import Foundation
import Logging
import PnyxCore
import Synchronization
import Testing
@testable import PnyxStore

@Suite("Security events")
struct EventStoreTests {
    static func event(_ n: Int, site: String = "county") -> SecurityEvent {
        SecurityEvent(
            timeMillis: 1_700_000_000_000 + Int64(n), site: site, client: "192.0.2.\(n % 250)", filter: "limits",
            rule: "max_body_bytes", action: .block, method: "POST", path: "/register", evidence: "content-length=\(n)",
            requestID: String(format: "%016x", n))
    }

    @Test("events are written to SQLite in batches and read back newest first, per site")
    func sqliteRoundTrip() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-events-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("pnyx.sqlite").path)
        let queue = EventQueue(store: store, capacity: 100, logger: Logger(label: "test"))
        for n in 0..<10 { queue.emit(Self.event(n, site: n % 2 == 0 ? "county" : "state")) }
        await queue.drain()
        #expect(try await store.count() == 10)
        #expect(queue.written.load(ordering: .relaxed) == 10)
        let county = try await store.recent(limit: 3, site: "county")
        #expect(county.map(\.evidence) == ["content-length=8", "content-length=6", "content-length=4"])
        #expect(county.first == Self.event(8))
        // Reopening the same file keeps the events (migrations are idempotent).
        let reopened = try SQLiteEventStore(path: dir.appendingPathComponent("pnyx.sqlite").path)
        #expect(try await reopened.count() == 10)
    }

    @Test("a full queue drops and counts instead of blocking; a failing store drops and counts")
    func boundedAndFailing() async throws {
        let failing = FailingStore()
        let queue = EventQueue(store: failing, capacity: 3, logger: Logger(label: "test"))
        for n in 0..<5 { queue.emit(Self.event(n)) }  // returns at once; two do not fit
        #expect(queue.dropped.load(ordering: .relaxed) == 2)
        #expect(queue.queued == 3)
        await queue.drain()  // the store throws: the batch is dropped and counted, nothing crashes
        #expect(queue.dropped.load(ordering: .relaxed) == 5)
        #expect(queue.written.load(ordering: .relaxed) == 0)
        #expect(failing.attempts.withLock { $0 } == 1)
    }

    @Test("a slow store never makes emit wait")
    func slowStore() async throws {
        let slow = SlowStore()
        let queue = EventQueue(store: slow, capacity: 1000, logger: Logger(label: "test"))
        let writer = Task { await queue.drain() }
        let started = ContinuousClock.now
        for n in 0..<500 { queue.emit(Self.event(n)) }
        // The store takes 5 s per batch; emitting must not wait for it (a generous bound for a loaded CI machine).
        #expect(ContinuousClock.now - started < .seconds(1))
        writer.cancel()
    }

    @Test("long paths and evidence are cut to bounded sizes")
    func truncation() {
        let event = SecurityEvent(
            timeMillis: 0, site: "s", client: "c", filter: "f", rule: "r", action: .block, method: "GET",
            path: "/" + String(repeating: "é", count: 1000), evidence: String(repeating: "x", count: 5000), requestID: "1")
        #expect(event.path.utf8.count <= SecurityEvent.maxPathBytes + 3)
        #expect(event.evidence.utf8.count <= SecurityEvent.maxEvidenceBytes + 3)
    }
}

final class FailingStore: EventStore {
    let attempts = Mutex(0)
    struct Down: Error {}
    func insert(_ events: [SecurityEvent]) async throws {
        attempts.withLock { $0 += 1 }
        throw Down()
    }
    func recent(limit: Int, site: String?) async throws -> [SecurityEvent] { throw Down() }
    func count() async throws -> Int { throw Down() }
}

final class SlowStore: EventStore {
    func insert(_ events: [SecurityEvent]) async throws { try await Task.sleep(for: .seconds(5)) }
    func recent(limit: Int, site: String?) async throws -> [SecurityEvent] { [] }
    func count() async throws -> Int { 0 }
}
