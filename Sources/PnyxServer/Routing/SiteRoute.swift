import Atomics
import NIOCore
import PnyxCore

/// A site with its resolved origins, as the router hands it to the data path.
final class SiteRoute: Sendable {
    let site: Site
    let origins: [ResolvedOrigin]
    /// Each origin's health-check state (same order as `origins`); empty when the site has no health check.
    let health: [OriginHealthState]
    private let next = ManagedAtomic<Int>(0)
    let connectTimeout: TimeAmount
    let responseTimeout: TimeAmount
    /// The site's cache settings, copied out once.
    let cachePolicy: CachePolicy
    /// The site's emergency pages, if it has any.
    let staticPages: StaticPages?

    init(site: Site, origins: [ResolvedOrigin], health: [OriginHealthState] = [], staticPages: StaticPages? = nil) {
        self.site = site
        self.origins = origins
        self.health = health.count == origins.count ? health : []
        let limits = site.configuration.limits
        self.connectTimeout = TimeAmount(limits.upstreamConnectTimeout)
        self.responseTimeout = TimeAmount(limits.upstreamResponseTimeout)
        self.cachePolicy = site.configuration.cache
        self.staticPages = staticPages
    }

    /// The origin for the next request: round robin over the site's origins, skipping those its health check
    /// marked down (if all are down, round robin over all: one of them may be back).
    func pickOrigin() -> ResolvedOrigin {
        if origins.count == 1 { return origins[0] }
        let n = next.loadThenWrappingIncrement(ordering: .relaxed) & Int.max
        if !health.isEmpty {
            for offset in 0..<origins.count {
                let i = (n + offset) % origins.count
                if health[i].isUp { return origins[i] }
            }
        }
        return origins[n % origins.count]
    }

    /// Every origin is marked down by the health check (never true without one).
    var allOriginsDown: Bool {
        !health.isEmpty && !health.contains { $0.isUp }
    }
}
