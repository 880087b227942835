import NIOCore
import PnyxCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every connection handler shares: the current snapshot and the per-loop upstream pools.
public final class ProxyRuntime: Sendable {
    public let snapshots: SnapshotStore
    public let pools: UpstreamPools
    /// Open-connection counts (overall and per address); outlives reloads.
    public let connections: ConnectionGate
    /// Connections cut by the slow-client defence; outlives reloads.
    public let slowClients: SlowClientCounters
    /// The response cache; outlives reloads.
    public let cache: EdgeCache

    public init(
        snapshots: SnapshotStore, pools: UpstreamPools, cache: EdgeCache, connections: ConnectionGate = ConnectionGate(),
        slowClients: SlowClientCounters = SlowClientCounters()
    ) {
        self.cache = cache
        self.snapshots = snapshots
        self.pools = pools
        self.connections = connections
        self.slowClients = slowClients
    }

    /// The site requests are attributed to before a site is known (unknown host, malformed request).
    static let unmatchedSite = Site(configuration: SiteConfiguration(name: SiteName("-"), hosts: [], origins: []))
    static let unmatchedRoute = SiteRoute(site: unmatchedSite, origins: [])

    @inline(__always)
    public static func wallMillis() -> Int64 { PnyxCore.wallMillis() }
}

/// Facts about the client connection a ``ProxyHandler`` serves, with the strings derived from them computed once
/// per connection rather than per request.
struct ConnectionFacts {
    let peer: IPAddress?
    let scheme: String
    let isHTTP2: Bool
    /// The peer address as text (`unknown` if not an IP connection).
    let peerText: String

    init(peer: IPAddress?, scheme: String, isHTTP2: Bool) {
        self.peer = peer
        self.scheme = scheme
        self.isHTTP2 = isHTTP2
        self.peerText = peer?.description ?? "unknown"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
