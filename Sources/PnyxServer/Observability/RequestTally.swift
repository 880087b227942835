import PnyxCore
import Synchronization

/// Requests and refusals per site, counted on the data path for the dashboard's statistics and the officials'
/// reports (the Prometheus counters are for scraping; these are drained into the event database every 10 seconds).
/// Each event loop adds in its own shard of ``ShardedCounters``.
public final class SiteTally: Sendable {
    private let counters = ShardedCounters(fields: 2)

    @inline(__always)
    func record(blocked: Bool, shard: Int) {
        counters.add(1, to: 0, shard: shard)
        if blocked { counters.add(1, to: 1, shard: shard) }
    }

    /// Requests and refusals since the last call (which start again from zero).
    public func take() -> (requests: Int, blocked: Int) { (counters.take(0), counters.take(1)) }
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
public final class TallyFilter: Filter {
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
