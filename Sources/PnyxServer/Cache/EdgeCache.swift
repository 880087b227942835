import Atomics
import Logging
import NIOCore
import PnyxCache
import PnyxConfig
import PnyxCore

/// The node's response cache as the data path uses it: the shared store (memory tier) and one lock-free view per
/// event loop. Made once at start-up and kept across reloads (the memory bound is read at start-up only).
public final class EdgeCache: Sendable {
    public let store: ResponseStore
    public let settings: CacheSettings
    /// Origin health-check states (kept across reloads).
    public let health = OriginHealthRegistry()
    /// Per-site counters by cache status.
    public let stats = CacheStatsRegistry()
    /// The disk tier (nil when `cache.disk` is off).
    public let disk: DiskTier?
    private let purges = ManagedAtomic<Int>(0)
    private let fronts: [ObjectIdentifier: FrontBox]
    private let sweepers: [RepeatedTask]

    /// One loop's view, touched only on that loop.
    final class FrontBox: @unchecked Sendable {
        let front: CacheFront
        init(_ front: CacheFront) { self.front = front }
    }

    /// - Parameter diskDirectory: where the disk tier keeps its files (`<data_dir>/cache`).
    public init(settings: CacheSettings, group: any EventLoopGroup, diskDirectory: String? = nil, logger: Logger? = nil) {
        self.settings = settings
        if let capacity = settings.diskBytes, let diskDirectory {
            disk = DiskTier(directory: diskDirectory, capacity: capacity, logger: logger ?? Logger(label: "pnyx.cache"))
            disk?.start()
        } else {
            disk = nil
        }
        let store = ResponseStore(capacity: settings.memoryBytes, maxObjectBytes: settings.maxObjectBytes)
        self.store = store
        var fronts: [ObjectIdentifier: FrontBox] = [:]
        var sweepers: [RepeatedTask] = []
        for loop in group.makeIterator() {
            let box = FrontBox(CacheFront(capacity: Int(settings.memoryBytes)))
            fronts[ObjectIdentifier(loop)] = box
            sweepers.append(
                loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    box.front.sweep(dropCount: store.dropCount)
                })
        }
        self.fronts = fronts
        self.sweepers = sweepers
    }

    /// `eventLoop`'s view (a loop outside the group gets a throw-away one: tools and tests).
    func front(for eventLoop: any EventLoop) -> CacheFront {
        fronts[ObjectIdentifier(eventLoop)]?.front ?? CacheFront(capacity: Int(settings.memoryBytes))
    }

    public func stop() async {
        for sweeper in sweepers { sweeper.cancel() }
        await disk?.shutdown()
    }

    /// Purges stored responses of `site`: every one, those whose path starts with `prefix`, or exact targets
    /// (path and query, any host of the site). Returns how many keys were removed.
    public func purge(site: String, prefix: String? = nil, targets: [String]? = nil) async -> Int {
        let predicate: @Sendable (CacheKey) -> Bool = { key in
            guard key.site == site else { return false }
            if let targets { return targets.contains(key.target) }
            if let prefix { return key.target.hasPrefix(prefix) }
            return true
        }
        // Disk first (after every write queued before), then memory; a disk read that began before the purge is
        // discarded when it completes (the epoch moved).
        purges.wrappingIncrement(ordering: .relaxed)
        var keys = await disk?.purge(where: predicate) ?? []
        purges.wrappingIncrement(ordering: .relaxed)
        keys.formUnion(store.purge(where: predicate))
        return keys.count
    }

    /// The end of a fetch: stores a stored result in memory (and queues it for the disk), wakes the waiters.
    public func complete(_ fill: Fill, with result: FillResult, now: Int64) {
        store.complete(fill, with: result, now: now)
        if case .stored(let object) = result { disk?.write(object) }
    }

    /// Changes with every purge: a disk read that started under another epoch is not used.
    public var purgeEpoch: Int { purges.load(ordering: .relaxed) }
}
