import Atomics
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
    private let fronts: [ObjectIdentifier: FrontBox]
    private let sweepers: [RepeatedTask]

    /// One loop's view, touched only on that loop.
    final class FrontBox: @unchecked Sendable {
        let front: CacheFront
        init(_ front: CacheFront) { self.front = front }
    }

    public init(settings: CacheSettings, group: any EventLoopGroup) {
        self.settings = settings
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

    public func stop() {
        for sweeper in sweepers { sweeper.cancel() }
    }

    /// Purges stored responses of `site`: every one, those whose path starts with `prefix`, or exact targets
    /// (path and query, any host of the site). Returns how many keys were removed.
    public func purge(site: String, prefix: String? = nil, targets: [String]? = nil) -> Int {
        let predicate: @Sendable (CacheKey) -> Bool = { key in
            guard key.site == site else { return false }
            if let targets { return targets.contains(key.target) }
            if let prefix { return key.target.hasPrefix(prefix) }
            return true
        }
        return store.purge(where: predicate)
    }
}
