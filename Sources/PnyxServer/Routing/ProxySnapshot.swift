import Atomics
import NIOCore
import NIOSSL
import PnyxConfig
import PnyxCore

/// Everything the data path needs for one configuration, compiled once and then read-only. A reload builds a new
/// snapshot completely and swaps it in; requests already running keep the snapshot they started with.
public final class ProxySnapshot: AtomicReference, Sendable {
    public let configuration: PnyxConfiguration
    /// Increases by one with every successful reload.
    public let generation: Int
    let router: HostRouter
    let chain: FilterChain
    let clientResolver: ClientAddressResolver
    let tls: NIOSSLContext?
    let events: any EventSink
    /// Copied out of the configuration for the hot path (no struct copy per request).
    let maxURIBytes: Int

    init(
        configuration: PnyxConfiguration, generation: Int, router: HostRouter, chain: FilterChain,
        tls: NIOSSLContext?, events: any EventSink
    ) {
        self.configuration = configuration
        self.generation = generation
        self.router = router
        self.chain = chain
        self.clientResolver = ClientAddressResolver(trusted: CIDRSet(configuration.trustedProxies))
        self.tls = tls
        self.events = events
        self.maxURIBytes = configuration.limits.maxURIBytes
    }
}

/// Holds the current snapshot. Reading it is one atomic load; swapping it is one atomic store.
public final class SnapshotStore: Sendable {
    private let current: ManagedAtomic<ProxySnapshot>

    public init(_ snapshot: ProxySnapshot) {
        self.current = ManagedAtomic(snapshot)
    }

    public var snapshot: ProxySnapshot { current.load(ordering: .acquiring) }

    public func swap(_ snapshot: ProxySnapshot) {
        current.store(snapshot, ordering: .releasing)
    }
}
