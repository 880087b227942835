import PnyxConfig
import PnyxCore
import PnyxDefense
import PnyxServer

/// The order of the data path's filters. Protections from later modules (WAF, traffic defense, challenge,
/// cache, integrity) are inserted between the standard head and tail filters here.
enum PipelineFactory {
    static func makeChain(
        configuration: PnyxConfiguration, sites: [Site], accessLog: AccessLogSink?, traffic: TrafficState
    ) -> FilterChain {
        let head = StandardFilters.head()
        var protections: [any Filter] = []
        let access = AccessListFilter(global: configuration.access, trustedProxies: configuration.trustedProxies, sites: sites)
        if !access.isEmpty { protections.append(access) }
        // Always in the chain: even with new bans off, bans already made (or cleared by hand) keep working.
        protections.append(BanFilter(policy: configuration.bans, registry: traffic.bans, strikes: traffic.strikes))
        let rateLimits = RateLimitFilter(sites: sites, counters: traffic.counters, penalties: traffic.penalties)
        if !rateLimits.isEmpty { protections.append(rateLimits) }
        let tail = StandardFilters.tail(
            configuration: configuration, sites: sites,
            blockingFilters: (head + protections).map(\.name), accessLog: accessLog)
        return FilterChain(head + protections + tail)
    }
}

/// Traffic-defense state that outlives reloads and is shared by every event loop: the rate counters, the
/// penalty box and the ban strikes (bounded, lock-free tables), and the node's bans.
struct TrafficState: Sendable {
    let counters = RateCounterTable()
    let penalties = PenaltyTable()
    let strikes = RateCounterTable(slots: 1 << 16)
    let bans = BanRegistry()
}
