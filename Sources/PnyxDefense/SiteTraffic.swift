import Atomics
import PnyxCore
import Synchronization

/// One site's traffic counters for escalation, and its current posture. Shared by every event loop and kept
/// across reloads (by site name). The data path adds to ``ShardedCounters`` (each event loop in its own shard, so
/// the loops never contend); the escalation service sums and resets them once a second.
public final class SiteTraffic: PostureSource, Sendable {
    enum Field: Int, CaseIterable {
        case requests, blocked, forwarded, originErrors, originMillis
    }
    private let counters = ShardedCounters(fields: Field.allCases.count)
    private let postureValue = ManagedAtomic<UInt8>(0)

    public init() {}

    @inline(__always)
    private func add(_ value: Int, _ field: Field, shard: Int) { counters.add(value, to: field.rawValue, shard: shard) }

    private func take(_ field: Field) -> Int { counters.take(field.rawValue) }

    public var posture: Posture { Posture(rawValue: postureValue.load(ordering: .relaxed)) ?? .normal }

    public func setPosture(_ posture: Posture) { postureValue.store(posture.rawValue, ordering: .relaxed) }

    /// The counts since the last call, which start again from zero.
    public func take(seconds: Double) -> SiteSample {
        SiteSample(
            seconds: seconds, requests: take(.requests), blocked: take(.blocked), forwarded: take(.forwarded),
            originErrors: take(.originErrors), originMillis: take(.originMillis))
    }

    /// Records one finished request in `shard` (one per event loop).
    @inline(__always)
    func record(_ context: RequestContext, shard: Int) {
        add(1, .requests, shard: shard)
        if context.outcome == .blocked { add(1, .blocked, shard: shard) }
        guard let started = context.upstreamStart else { return }
        add(1, .forwarded, shard: shard)
        if context.outcome == .upstreamError || context.status >= 500 { add(1, .originErrors, shard: shard) }
        let answered = context.upstreamHeadAt ?? context.end ?? started
        add(Int((answered.uptimeNanoseconds &- started.uptimeNanoseconds) / 1_000_000), .originMillis, shard: shard)
    }
}

/// Every site's ``SiteTraffic``, by name. Looked up when a configuration is built, never per request.
public final class SiteTrafficRegistry: Sendable {
    private let sites = Mutex<[String: SiteTraffic]>([:])
    /// Hands out counter shards to filter replicas (one per event loop) in turn.
    private let nextShard = ManagedAtomic<Int>(0)
    public init() {}

    public func takeShard() -> Int { nextShard.loadThenWrappingIncrement(ordering: .relaxed) }

    public func traffic(for site: SiteName) -> SiteTraffic {
        sites.withLock { sites in
            if let existing = sites[site.rawValue] { return existing }
            let created = SiteTraffic()
            sites[site.rawValue] = created
            return created
        }
    }

    public func all() -> [(String, SiteTraffic)] {
        sites.withLock { $0.map { ($0.key, $0.value) } }.sorted { $0.0 < $1.0 }
    }
}

/// Counts every finished request into its site's ``SiteTraffic`` (the complete phase), for escalation.
public final class TrafficStatsFilter: Filter {
    public let name: FilterName = "traffic_stats"
    public var phases: PhaseSet { .complete }
    private let sites: SiteTable<SiteTraffic>
    private let shard: Int

    /// - Parameter shard: this filter's counter shard; each event loop's replica should have its own.
    public init(sites: [Site], registry: SiteTrafficRegistry, shard: Int = 0) {
        self.shard = shard
        self.sites = SiteTable(sites) { $0.configuration.escalation.enabled ? registry.traffic(for: $0.name) : nil }
    }

    public var isEmpty: Bool { sites.isEmpty }

    public func complete(_ context: RequestContext) {
        sites[context.site]?.record(context, shard: shard)
    }
}
