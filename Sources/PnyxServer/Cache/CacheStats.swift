import Atomics
import PnyxCore
import Synchronization

/// Per-site cache counters (requests by cache status, bytes served from cache), kept across reloads, for
/// Prometheus and reports.
public final class SiteCacheCounters: Sendable {
    let byStatus: [ManagedAtomic<Int>] = CacheStatus.allCases.map { _ in ManagedAtomic(0) }
    public let servedBytes = ManagedAtomic<Int>(0)

    public func count(_ status: CacheStatus) -> Int {
        byStatus[CacheStatus.allCases.firstIndex(of: status)!].load(ordering: .relaxed)
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
public struct CacheStatsFilter: Filter {
    public let name: FilterName = "cache"
    public var phases: PhaseSet { .complete }
    private let sites: SiteTable<SiteCacheCounters>
    private static let index: [CacheStatus: Int] = Dictionary(
        uniqueKeysWithValues: CacheStatus.allCases.enumerated().map { ($1, $0) })

    public init(sites: [Site], registry: CacheStatsRegistry) {
        self.sites = SiteTable(sites) { registry.counters(site: $0.name.rawValue) }
    }

    public func complete(_ context: RequestContext) {
        guard let status = context.cacheStatus, let counters = sites[context.site] else { return }
        let i: Int
        switch status {
        case .hit: i = 0
        case .miss: i = 1
        case .stale: i = 2
        case .bypass: i = 3
        case .expired: i = 4
        case .revalidated: i = 5
        case .static: i = 6
        }
        counters.byStatus[i].wrappingIncrement(ordering: .relaxed)
        if context.outcome == .cached {
            counters.servedBytes.wrappingIncrement(by: Int(context.responseBodyBytes), ordering: .relaxed)
        }
    }
}
