import Atomics
import Dispatch
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
        self.clientResolver = ClientAddressResolver(trusted: AddressRangeSet(configuration.trustedProxies))
        self.tls = tls
        self.events = events
        self.maxURIBytes = configuration.limits.maxURIBytes
    }
}

/// Holds the current snapshot, one replica per event loop. Reading it is one atomic load; a reload stores a new
/// replica in every loop's cell.
///
/// Why replicas: every request retains and releases the snapshot, its sites, routes and filter chain. If both
/// event loops shared one object graph, those reference counts would bounce between the cores' caches on every
/// request (a contended atomic per retain). With one graph per loop, a loop only touches its own objects.
/// State that must be shared across loops (the event queue, TLS contexts) is shared on purpose and is not touched
/// per request.
public final class SnapshotStore: Sendable {
    private let cells: [ManagedAtomic<ProxySnapshot>]
    private let loopIndex: [ObjectIdentifier: Int]

    /// - Parameter replicas: one snapshot per event loop of `group`, all of one generation.
    public init(_ replicas: [ProxySnapshot], group: any EventLoopGroup) {
        precondition(!replicas.isEmpty)
        var index: [ObjectIdentifier: Int] = [:]
        for (i, loop) in group.makeIterator().enumerated() { index[ObjectIdentifier(loop)] = i % replicas.count }
        self.loopIndex = index
        self.cells = replicas.map { ManagedAtomic($0) }
    }

    /// A store with one shared snapshot (tests and tools).
    public convenience init(_ snapshot: ProxySnapshot) {
        self.init([snapshot], group: EmptyGroup.shared)
    }

    /// How many replicas a swap must bring.
    public var replicaCount: Int { cells.count }

    /// The current snapshot (any replica: configuration and generation are the same in all).
    public var snapshot: ProxySnapshot { cells[0].load(ordering: .acquiring) }

    /// The cell holding `eventLoop`'s replica; a handler keeps it and loads from it per request.
    func cell(for eventLoop: any EventLoop) -> ManagedAtomic<ProxySnapshot> {
        cells[loopIndex[ObjectIdentifier(eventLoop)] ?? 0]
    }

    /// Installs a new generation: `replicas.count` must equal `replicaCount`.
    public func swap(_ replicas: [ProxySnapshot]) {
        precondition(replicas.count == cells.count, "one replica per event loop")
        for (cell, replica) in zip(cells, replicas) { cell.store(replica, ordering: .releasing) }
    }
}

/// No event loops: every loop maps to replica 0.
private final class EmptyGroup: EventLoopGroup, Sendable {
    static let shared = EmptyGroup()
    func next() -> any EventLoop { fatalError("no event loops") }
    func makeIterator() -> EventLoopIterator { EventLoopIterator([]) }
    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        callback(nil)
    }
}
