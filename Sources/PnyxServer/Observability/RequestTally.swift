import Atomics
import PnyxCore
import Synchronization

/// Requests and refusals per site, counted on the data path for the dashboard's statistics and the officials'
/// reports (the Prometheus counters are for scraping; these are drained into the event database every 10 seconds).
/// Each event loop adds in its own shard (its own cache line), with relaxed atomics.
public final class SiteTally: @unchecked Sendable {  // the words are only ever touched atomically
    static let shards = 8
    static let stride = 16
    private let words: UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>

    init() {
        words = .allocate(capacity: Self.shards * Self.stride)
        words.initialize(repeating: UnsafeAtomic<Int>.Storage(0), count: Self.shards * Self.stride)
    }

    deinit {
        words.deinitialize(count: Self.shards * Self.stride)
        words.deallocate()
    }

    @inline(__always)
    func record(blocked: Bool, shard: Int) {
        let base = words + (shard & (Self.shards - 1)) * Self.stride
        UnsafeAtomic<Int>(at: base).wrappingIncrement(ordering: .relaxed)
        if blocked { UnsafeAtomic<Int>(at: base + 1).wrappingIncrement(ordering: .relaxed) }
    }

    /// Requests and refusals since the last call (which start again from zero).
    public func take() -> (requests: Int, blocked: Int) {
        var requests = 0, blocked = 0
        for shard in 0..<Self.shards {
            requests += UnsafeAtomic<Int>(at: words + shard * Self.stride).exchange(0, ordering: .relaxed)
            blocked += UnsafeAtomic<Int>(at: words + shard * Self.stride + 1).exchange(0, ordering: .relaxed)
        }
        return (requests, blocked)
    }
}

/// Every site's tally, kept across reloads by site name.
public final class RequestTally: Sendable {
    private let sites = Mutex<[String: SiteTally]>([:])
    private let nextShard = Atomic<Int>(0)

    public init() {}

    public func tally(for site: String) -> SiteTally {
        sites.withLock { table in
            if let existing = table[site] { return existing }
            let created = SiteTally()
            table[site] = created
            return created
        }
    }

    public func takeShard() -> Int { nextShard.add(1, ordering: .relaxed).oldValue }

    /// Each site's counts since the last drain (sites with none left out).
    public func drain() -> [(site: String, requests: Int, blocked: Int)] {
        let all = sites.withLock { $0 }
        return all.compactMap { name, tally in
            let (requests, blocked) = tally.take()
            return requests == 0 && blocked == 0 ? nil : (name, requests, blocked)
        }.sorted { $0.site < $1.site }
    }
}

/// Counts each finished request in its site's tally.
public struct TallyFilter: Filter {
    public let name: FilterName = "tally"
    public var phases: PhaseSet { .complete }
    private let sites: SiteTable<SiteTally>
    private let shard: Int

    public init(sites: [Site], tally: RequestTally) {
        self.sites = SiteTable(sites) { tally.tally(for: $0.name.rawValue) }
        self.shard = tally.takeShard()
    }

    public func complete(_ context: RequestContext) {
        sites[context.site]?.record(blocked: context.outcome == .blocked, shard: shard)
    }
}
