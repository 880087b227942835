import Atomics
import PnyxCore
import Synchronization

/// Per-site cache counters (requests by cache status, bytes served from cache), kept across reloads, for
/// Prometheus and reports.
public final class SiteCacheCounters: Sendable {
    let byStatus: [ManagedAtomic<Int>] = CacheStatus.allCases.map { _ in ManagedAtomic(0) }
    public let servedBytes = ManagedAtomic<Int>(0)

    public func count(_ status: CacheStatus) -> Int {
        byStatus[status.index].load(ordering: .relaxed)
    }

    /// Requests answered from cache (HIT, STALE, REVALIDATED, STATIC) among all that used the cache.
    public var hitRatio: Double {
        let served = [CacheStatus.hit, .stale, .revalidated, .static].reduce(0) { $0 + count($1) }
        let total = served + count(.miss) + count(.expired)
        return total == 0 ? 0 : Double(served) / Double(total)
    }
}

/// The counters of every site by name.
public final class CacheStatsRegistry: Sendable {
    private let sites = Mutex<[String: SiteCacheCounters]>([:])
    public init() {}

    public func counters(site: String) -> SiteCacheCounters {
        sites.withLock { sites in
            if let counters = sites[site] { return counters }
            let counters = SiteCacheCounters()
            sites[site] = counters
            return counters
        }
    }

    public var all: [(String, SiteCacheCounters)] { sites.withLock { $0.sorted { $0.key < $1.key } } }
}

/// Counts each request's cache status (complete phase).
public final class CacheStatsFilter: Filter {
    public let name: FilterName = "cache"
    public var phases: PhaseSet { .complete }
    private let sites: SiteTable<SiteCacheCounters>

    public init(sites: [Site], registry: CacheStatsRegistry) {
        self.sites = SiteTable(sites) { registry.counters(site: $0.name.rawValue) }
    }

    public func complete(_ context: RequestContext) {
        guard let status = context.cacheStatus, let counters = sites[context.site] else { return }
        counters.byStatus[status.index].wrappingIncrement(ordering: .relaxed)
        if context.outcome == .cached {
            counters.servedBytes.wrappingIncrement(by: Int(context.responseBodyBytes), ordering: .relaxed)
        }
    }
}

extension CacheStatus {
    /// Position in `allCases` (the counters' order), without a search.
    var index: Int {
        switch self {
        case .hit: 0
        case .miss: 1
        case .stale: 2
        case .bypass: 3
        case .expired: 4
        case .revalidated: 5
        case .static: 6
        }
    }
}
