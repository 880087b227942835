import Atomics
import NIOCore
import PnyxCore

/// A site with its resolved origins, as the router hands it to the data path.
final class SiteRoute: Sendable {
    let site: Site
    let origins: [ResolvedOrigin]
    private let next = ManagedAtomic<Int>(0)
    let connectTimeout: TimeAmount
    let responseTimeout: TimeAmount

    init(site: Site, origins: [ResolvedOrigin]) {
        self.site = site
        self.origins = origins
        let limits = site.configuration.limits
        self.connectTimeout = TimeAmount(limits.upstreamConnectTimeout)
        self.responseTimeout = TimeAmount(limits.upstreamResponseTimeout)
    }

    /// The origin for the next request: round robin over the site's origins.
    func pickOrigin() -> ResolvedOrigin {
        if origins.count == 1 { return origins[0] }
        let n = next.loadThenWrappingIncrement(ordering: .relaxed)
        return origins[(n & Int.max) % origins.count]
    }
}
