import Atomics
import Logging
import PnyxCore
import ServiceLifecycle
import Synchronization

/// The bounded queue between filters and the event store, and the service that drains it.
///
/// `emit` never waits: it appends under a short lock (events are rare next to requests) and, when the queue is
/// full because the store is slow or down, drops the event and counts it. The writer takes everything queued
/// every 100 ms and writes it as one batch; a failing store drops that batch, counts it and logs: the data path
/// never notices.
public final class EventQueue: EventSink, Service {
    private let pending: Mutex<[SecurityEvent]> = Mutex([])
    private let capacity: Int
    private let store: any EventStore
    private let logger: Logger
    private let interval: Duration
    /// Events dropped because the queue was full or the store failed.
    public let dropped = ManagedAtomic<Int>(0)
    /// Events written to the store.
    public let written = ManagedAtomic<Int>(0)
    /// Sees every batch the writer takes, before the store does (the alert service): alerts go out even when the
    /// store is down.
    private let observer: Mutex<(@Sendable ([SecurityEvent]) -> Void)?> = Mutex(nil)

    public init(store: any EventStore, capacity: Int, logger: Logger, interval: Duration = .milliseconds(100)) {
        self.store = store
        self.capacity = capacity
        self.logger = logger
        self.interval = interval
    }

    public func emit(_ event: SecurityEvent) {
        let accepted = pending.withLock { queue -> Bool in
            guard queue.count < capacity else { return false }
            queue.append(event)
            return true
        }
        if !accepted { dropped.wrappingIncrement(ordering: .relaxed) }
    }

    /// Sets the one observer of written batches.
    public func observe(_ observer: @escaping @Sendable ([SecurityEvent]) -> Void) {
        self.observer.withLock { $0 = observer }
    }

    /// Events waiting for the store.
    public var queued: Int { pending.withLock { $0.count } }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await drain()
        }
        await drain()
    }

    /// Writes everything queued now.
    public func drain() async {
        let batch = pending.withLock { queue -> [SecurityEvent] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        guard !batch.isEmpty else { return }
        observer.withLock { $0 }?(batch)
        do {
            try await store.insert(batch)
            written.wrappingIncrement(by: batch.count, ordering: .relaxed)
        } catch {
            dropped.wrappingIncrement(by: batch.count, ordering: .relaxed)
            logger.error(
                "event store write failed; events dropped",
                metadata: ["pnyx.events.dropped": "\(batch.count)", "error": "\(error)"])
        }
    }
}
