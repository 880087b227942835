import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS
import PnyxCore

/// Builds the handler pipelines for accepted client connections.
enum ChannelSetup {
    /// Plain HTTP/1.1: timeouts → strict request parser → proxy. The proxy handler itself serializes pipelined
    /// requests and answers parse errors (NIO's pipelining handler would pause reads: two epoll_ctl per request).
    static func configureHTTP1(
        _ channel: any Channel, runtime: ProxyRuntime, scheme: String, peer: IPAddress?, addTimeouts: Bool = true
    ) throws {
        let limits = runtime.snapshots.snapshot.configuration.limits
        let sync = channel.pipeline.syncOperations
        // Plain HTTP: the decoder owns the connection timer. TLS: the handler in front of TLS owns it.
        let ownTimer: ConnectionTimer?
        let timer: ConnectionTimer
        if addTimeouts {
            timer = ConnectionTimer(policy: slowClientPolicy(runtime))
            ownTimer = timer
        } else {
            timer = try sync.handler(type: ClientTimeoutHandler.self).timer
            ownTimer = nil
        }
        // A strict request parser that calls the proxy handler directly; responses are serialized by the proxy.
        let proxy = ProxyHandler(
            runtime: runtime, facts: ConnectionFacts(peer: peer, scheme: scheme, isHTTP2: false), timeouts: timer)
        try sync.addHandler(HTTP1ServerDecoder(maxHeadBytes: limits.maxHeaderBytes, proxy: proxy, timer: ownTimer))
        try sync.addHandler(proxy)
    }

    static func slowClientPolicy(_ runtime: ProxyRuntime) -> SlowClientPolicy {
        let limits = runtime.snapshots.snapshot.configuration.limits
        return SlowClientPolicy(
            headerReadTimeout: TimeAmount(limits.headerReadTimeout), idleTimeout: TimeAmount(limits.idleTimeout),
            minBodyRate: limits.minBodyRate, minSendRate: limits.minSendRate, grace: TimeAmount(limits.slowRateGrace),
            counters: runtime.slowClients)
    }

    /// HTTPS: TLS (certificate by SNI) → ALPN → HTTP/2 or HTTP/1.1.
    static func configureHTTPS(_ channel: any Channel, runtime: ProxyRuntime, peer: IPAddress?) throws {
        let snapshot = runtime.snapshots.snapshot
        guard let tls = snapshot.tls else { throw ChannelError.inappropriateOperationForState }
        let limits = snapshot.configuration.limits
        let sync = channel.pipeline.syncOperations
        // Watches the handshake too: a client that connects and never finishes TLS is closed.
        try sync.addHandler(ClientTimeoutHandler(policy: slowClientPolicy(runtime)))
        try sync.addHandler(NIOSSLServerHandler(context: tls))
        let alpn = ApplicationProtocolNegotiationHandler(alpnCompleteHandler: { result, channel in
            channel.eventLoop.makeCompletedFuture {
                switch result {
                case .negotiated("h2"):
                    try configureHTTP2(channel, runtime: runtime, peer: peer)
                default:
                    try configureHTTP1(channel, runtime: runtime, scheme: "https", peer: peer, addTimeouts: false)
                }
            }
        })
        try sync.addHandler(alpn)
    }

    static func configureHTTP2(_ channel: any Channel, runtime: ProxyRuntime, peer: IPAddress?) throws {
        let limits = runtime.snapshots.snapshot.configuration.limits
        let sync = channel.pipeline.syncOperations
        if let timeouts = try? sync.handler(type: ClientTimeoutHandler.self) { timeouts.disable() }
        var management = NIOHTTP2ServerConnectionManagementHandler.Configuration.defaults
        management.maxIdleTime = TimeAmount(limits.idleTimeout)
        management.maxGraceTime = TimeAmount(limits.shutdownDrainTimeout)
        let manager = NIOHTTP2ServerConnectionManagementHandler(eventLoop: channel.eventLoop, configuration: management)
        let h2 = limits.http2
        let streamPolicy = slowClientPolicy(runtime)
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: h2.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        ]
        connection.maximumSequentialContinuationFrames = h2.maxContinuationFrames
        connection.maximumConnectionGlitches = h2.maxGlitches
        connection.controlFrameRateLimit.maximumCount = h2.maxControlFrames
        connection.controlFrameRateLimit.windowLength = TimeAmount(h2.controlFrameWindow)
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = 1 << 20
        stream.streamResetFrameRateLimit.maximumCount = h2.maxStreamResets
        stream.streamResetFrameRateLimit.windowLength = TimeAmount(h2.streamResetWindow)
        _ = try sync.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: stream,
            streamDelegate: manager.http2StreamDelegate
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                let streamSync = streamChannel.pipeline.syncOperations
                try streamSync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                // Each stream gets the slow-client deadlines of its own (body rate, response drain); a stream cut by
                // them is reset, the connection's other streams go on.
                try streamSync.addHandler(
                    ProxyHandler(
                        runtime: runtime, facts: ConnectionFacts(peer: peer, scheme: "https", isHTTP2: true),
                        timeouts: ConnectionTimer(policy: streamPolicy, canAnswer: false), ownsTimeouts: true))
            }
        }
        try sync.addHandler(manager)
    }
}
