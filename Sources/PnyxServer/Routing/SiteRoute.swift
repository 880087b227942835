import Atomics
import PnyxCore

/// A site with its resolved origins, as the router hands it to the data path.
final class SiteRoute: Sendable {
    let site: Site
    let origins: [ResolvedOrigin]
    private let next = ManagedAtomic<Int>(0)

    init(site: Site, origins: [ResolvedOrigin]) {
        self.site = site
        self.origins = origins
    }

    /// The origin for the next request: round robin over the site's origins.
    func pickOrigin() -> ResolvedOrigin {
        if origins.count == 1 { return origins[0] }
        let n = next.loadThenWrappingIncrement(ordering: .relaxed)
        return origins[(n & Int.max) % origins.count]
    }
}
