import Atomics
import PnyxCore
import Synchronization

/// One site's traffic counters for escalation, and its current posture. Shared by every event loop and kept
/// across reloads (by site name). The data path adds to the counters with relaxed atomics; the escalation
/// service takes them once a second.
public final class SiteTraffic: Sendable {
    let requests = ManagedAtomic<Int>(0)
    let blocked = ManagedAtomic<Int>(0)
    let forwarded = ManagedAtomic<Int>(0)
    let originErrors = ManagedAtomic<Int>(0)
    let originMillis = ManagedAtomic<Int>(0)
    private let postureValue = ManagedAtomic<UInt8>(0)

    public init() {}

    public var posture: Posture { Posture(rawValue: postureValue.load(ordering: .relaxed)) ?? .normal }

    public func setPosture(_ posture: Posture) { postureValue.store(posture.rawValue, ordering: .relaxed) }

    /// The counts since the last call, which start again from zero.
    public func take(seconds: Double) -> SiteSample {
        SiteSample(
            seconds: seconds, requests: requests.exchange(0, ordering: .relaxed), blocked: blocked.exchange(0, ordering: .relaxed),
            forwarded: forwarded.exchange(0, ordering: .relaxed), originErrors: originErrors.exchange(0, ordering: .relaxed),
            originMillis: originMillis.exchange(0, ordering: .relaxed))
    }

    /// Records one finished request.
    @inline(__always)
    func record(_ context: RequestContext) {
        requests.wrappingIncrement(ordering: .relaxed)
        if context.outcome == .blocked { blocked.wrappingIncrement(ordering: .relaxed) }
        guard let started = context.upstreamStart else { return }
        forwarded.wrappingIncrement(ordering: .relaxed)
        if context.outcome == .upstreamError || context.status >= 500 { originErrors.wrappingIncrement(ordering: .relaxed) }
        let answered = context.upstreamHeadAt ?? context.end ?? started
        originMillis.wrappingIncrement(by: Int((answered.uptimeNanoseconds &- started.uptimeNanoseconds) / 1_000_000), ordering: .relaxed)
    }
}

/// Every site's ``SiteTraffic``, by name. Looked up when a configuration is built, never per request.
public final class SiteTrafficRegistry: Sendable {
    private let sites = Mutex<[String: SiteTraffic]>([:])
    public init() {}

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
public struct TrafficStatsFilter: Filter {
    public let name: FilterName = "traffic_stats"
    public var phases: PhaseSet { .complete }
    private let sites: [ObjectIdentifier: SiteTraffic]

    public init(sites: [Site], registry: SiteTrafficRegistry) {
        var map: [ObjectIdentifier: SiteTraffic] = [:]
        for site in sites where site.configuration.escalation.enabled {
            map[ObjectIdentifier(site)] = registry.traffic(for: site.name)
        }
        self.sites = map
    }

    public var isEmpty: Bool { sites.isEmpty }

    public func complete(_ context: RequestContext) {
        sites[ObjectIdentifier(context.site)]?.record(context)
    }
}
