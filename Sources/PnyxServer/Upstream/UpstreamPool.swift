import NIOCore
import NIOHTTP1
import NIOPosix
import PnyxCore

/// Keep-alive connections to origins, one pool per event loop: a client exchange takes a connection from its own
/// loop's pool, so the client and upstream channels share a thread and nothing is locked.
final class UpstreamPool: @unchecked Sendable {
    // @unchecked: every method runs on `eventLoop` (checked in debug builds).
    let eventLoop: any EventLoop
    let maxIdlePerOrigin: Int
    let idleTimeout: TimeAmount
    /// Idle connections per origin, most recently used last. A class, so popping and pushing mutate in place.
    private final class IdleStack {
        var connections: [UpstreamConnection] = []
    }
    /// Keyed by the origin's precomputed hash; a connection is only handed out for an equal origin.
    private var idle: [Int: IdleStack] = [:]
    private var sweeper: RepeatedTask?

    init(eventLoop: any EventLoop, maxIdlePerOrigin: Int = 256, idleTimeout: TimeAmount = .seconds(30)) {
        self.eventLoop = eventLoop
        self.maxIdlePerOrigin = maxIdlePerOrigin
        self.idleTimeout = idleTimeout
    }

    /// An idle pooled connection to `origin`, if there is a usable one.
    func takeIdle(_ origin: ResolvedOrigin) -> UpstreamConnection? {
        guard let stack = idle[origin.poolKey] else { return nil }
        let cutoff = NIODeadline.now() - idleTimeout
        while let connection = stack.connections.popLast() {
            if connection.isActive && connection.idleSince > cutoff && connection.origin == origin { return connection }
            connection.abort()
        }
        return nil
    }

    /// A connection to `origin`: an idle pooled one if any, else a new one.
    func acquire(_ origin: ResolvedOrigin, connectTimeout: TimeAmount, forceNew: Bool = false)
        -> EventLoopFuture<UpstreamConnection>
    {
        eventLoop.preconditionInEventLoop()
        if !forceNew, let connection = takeIdle(origin) {
            return eventLoop.makeSucceededFuture(connection)
        }
        return connect(origin, connectTimeout: connectTimeout)
    }

    private func connect(_ origin: ResolvedOrigin, connectTimeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnection(origin: origin))
                }
            }
            .connect(to: origin.socketAddress)
            .assumeIsolated()
            .flatMapThrowing { channel in
                let connection = try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self)
                connection.pool = self
                return connection
            }
            .nonisolated()
    }

    /// Returns a connection whose exchange ended cleanly. Closes it if the pool for its origin is full.
    func release(_ connection: UpstreamConnection, now: NIODeadline = .now()) {
        eventLoop.preconditionInEventLoop()
        guard connection.isActive, connection.state == .idle else {
            connection.abort()
            return
        }
        connection.detach()
        connection.idleSince = now
        let stack: IdleStack
        if let existing = idle[connection.origin.poolKey] {
            stack = existing
        } else {
            stack = IdleStack()
            idle[connection.origin.poolKey] = stack
        }
        if stack.connections.count >= maxIdlePerOrigin {
            connection.abort()
            return
        }
        stack.connections.append(connection)
        startSweeperIfNeeded()
    }

    /// Removes a connection that closed while idle.
    func forget(_ connection: UpstreamConnection) {
        guard let stack = idle[connection.origin.poolKey],
            let index = stack.connections.firstIndex(where: { $0 === connection })
        else { return }
        stack.connections.remove(at: index)
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        for (_, stack) in idle { for connection in stack.connections { connection.abort() } }
        idle.removeAll()
        sweeper?.cancel()
        sweeper = nil
    }

    private func startSweeperIfNeeded() {
        guard sweeper == nil else { return }
        // Strong capture: the pool lives as long as the proxy, and `closeAll` cancels the sweeper.
        sweeper = eventLoop.scheduleRepeatedTask(initialDelay: idleTimeout, delay: idleTimeout) { _ in
            self.sweep()
        }
    }

    private func sweep() {
        let cutoff = NIODeadline.now() - idleTimeout
        for (_, stack) in idle {
            let keep = stack.connections.filter { $0.isActive && $0.idleSince > cutoff }
            for connection in stack.connections where !keep.contains(where: { $0 === connection }) { connection.abort() }
            stack.connections = keep
        }
    }
}

/// The pools of every event loop in a group. Immutable after creation.
public final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: UpstreamPool]

    public init(group: any EventLoopGroup) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop)
        }
        self.pools = pools
    }

    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop not part of the proxy's group")
        }
        return pool
    }

    /// Closes idle upstream connections on every loop.
    public func closeAll() {
        for pool in pools.values {
            pool.eventLoop.execute { pool.closeAll() }
        }
    }
}
