import Atomics
import NIOCore
import NIOHTTP1
import PnyxCache
import PnyxCore

/// Drives one client connection (HTTP/1.1) or one HTTP/2 stream down the phases:
/// requestHead → requestBody → cache → upstream → upstreamResponse → response → complete.
///
/// Bodies stream in both directions with back-pressure: reads from one side stop while the other side is not
/// writable, so a 1 GB upload or download never sits in memory.
final class ProxyHandler: ChannelDuplexHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let runtime: ProxyRuntime
    let facts: ConnectionFacts
    var context: ChannelHandlerContext?
    var pool: UpstreamPool?
    /// This event loop's snapshot cell (see ``SnapshotStore``), loaded once per request.
    var snapshotCell: ManagedAtomic<ProxySnapshot>?
    var exchange: Exchange?
    /// This event loop's view of the cache.
    var cacheFront: CacheFront?
    /// Requests that arrived (HTTP/1.1 pipelining) while an earlier response was still being sent. Replayed in
    /// order; reads stop while more than a few are queued.
    var pipelined: [HTTPServerRequestPart] = []
    var pipelinedHeads = 0
    static let maxPipelined = 8
    /// The server is shutting down: close after the current response (or now, if idle).
    var quiescing = false
    /// After a local answer to a request whose body had not finished, the rest of the body is read and dropped
    /// for a short while before closing ("lingering close"), so the client sees the answer instead of a reset.
    var discardingBody = false
    var lingerBytes = 0
    var lingerTimer: Scheduled<Void>?
    static let maxLingerBytes = 1 << 20
    static let lingerTime = TimeAmount.seconds(2)
    var readsPaused = false
    /// The client channel's writability, tracked from its events (no pipeline call per body part).
    var clientWritable = true
    var pendingRead = false
    /// HTTP/1 response bytes not yet handed to the channel: the head and small body parts are gathered so that a
    /// typical response leaves in one write.
    var pendingOutput: ByteBuffer?
    /// Something was written to the client channel since its last flush (a flush with nothing to send still walks
    /// the pipeline and the channel's checks).
    var clientUnflushed = false
    /// Response heads and the origin request's fields are written into the same memory each time (see
    /// ``RecycledBuffer``).
    var outputBuffer = RecycledBuffer()
    var forwardBuffer = RecycledBuffer()
    static let coalesceLimit = 16 * 1024
    let idBase: UInt64
    let allocator = ByteBufferAllocator()
    var idCount: UInt64 = 0
    /// This connection's `Forwarded` element for the last host asked for (the same on nearly every request).
    var forwardedForHost = "\u{0}"
    var routeCache = RouteCache()
    var forwardedElement = ""

    /// The connection's header-read, idle and slow-client timer; same pipeline, same event loop. For HTTP/1 the
    /// decoder (or the handler in front of TLS) owns it; an HTTP/2 stream's handler owns its own.
    let timeouts: ConnectionTimer?
    let ownsTimeouts: Bool

    init(runtime: ProxyRuntime, facts: ConnectionFacts, timeouts: ConnectionTimer? = nil, ownsTimeouts: Bool = false) {
        self.runtime = runtime
        self.facts = facts
        self.timeouts = timeouts
        self.ownsTimeouts = ownsTimeouts
        self.idBase = UInt64.random(in: 0...UInt64.max)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.pool = runtime.pools.pool(for: context.eventLoop)
        self.snapshotCell = runtime.snapshots.cell(for: context.eventLoop)
        self.cacheFront = runtime.cache.front(for: context.eventLoop)
        self.clientWritable = context.channel.isWritable
        if ownsTimeouts { timeouts?.start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if ownsTimeouts { timeouts?.stop() }
    }

    // MARK: inbound from the client

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    /// A request part, from the channel (HTTP/2) or directly from the HTTP/1 decoder in front of this handler.
    func receive(_ part: HTTPServerRequestPart) {
        guard let context else { return }
        if !pipelined.isEmpty || (exchange != nil && exchange!.requestEnded) || (discardingBody && isHead(part)) {
            // A pipelined request: keep it until the current response is done.
            if isHead(part) { pipelinedHeads += 1 }
            pipelined.append(part)
            if pipelinedHeads > Self.maxPipelined { pauseClientReads() }
            return
        }
        handle(part, context: context)
    }

    func isHead(_ part: HTTPServerRequestPart) -> Bool {
        if case .head = part { return true }
        return false
    }

    func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            startExchange(head, context: context)
        case .body(let body):
            requestBody(body)
        case .end:
            requestEnd()
        }
    }

    /// Feeds queued pipelined requests in, one exchange at a time.
    func replayPipelined() {
        guard let context else { return }
        while exchange == nil || !exchange!.requestEnded, !pipelined.isEmpty, !discardingBody {
            let part = pipelined.removeFirst()
            if isHead(part) { pipelinedHeads -= 1 }
            handle(part, context: context)
            if let exchange, exchange.requestEnded { break }
        }
        if pipelinedHeads <= Self.maxPipelined / 2 && exchange == nil { resumeClientReads() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if exchange == nil && pipelined.isEmpty {
                context.close(promise: nil)
            } else {
                exchange?.keepAlive = false
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let exchange, exchange.phase == .forwarding { exchange.upstream?.flush() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            // The client went away before its response was complete (logged as 499 if nothing was sent).
            exchange.upstream?.abort()
            exchange.upstream = nil
            if exchange.outcome == .forwarded && !exchange.responseEnded { exchange.outcome = .clientError }
            finish(exchange, notifyTimeouts: false)
        }
        lingerTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritable = context.channel.isWritable
        timeouts?.clientWritable(clientWritable)
        if clientWritable { exchange?.upstream?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The HTTP/1 decoder found a malformed request: answer 400 (431 for oversized heads), forward nothing, close.
    func requestMalformed(_ error: HTTP1RequestParser.ParseError) {
        guard let context else { return }
        guard exchange == nil || !(exchange!.responseStarted) else {
            context.close(promise: nil)
            return
        }
        exchange?.upstream?.abort()
        exchange = nil
        pipelined.removeAll()
        let status: HTTPResponseStatus = error == .headerTooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        let body = status == .badRequest ? "Bad request\n" : "Request headers too large\n"
        var head = ResponseHead(status: status)
        head.headers.add(literalName: "content-type", literalValue: "text/plain; charset=utf-8")
        head.headers.add(name: "content-length", value: String(body.utf8.count))
        head.headers.add(literalName: "connection", literalValue: "close")
        var bytes = HTTP1Serializer.responseHead(head, allocator: allocator)
        bytes.writeString(body)
        let channel = context.channel
        context.writeAndFlush(NIOAny(IOData.byteBuffer(bytes))).whenComplete { _ in channel.close(promise: nil) }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func pauseClientReads() {
        readsPaused = true
        timeouts?.clientReads(paused: true)
    }

    func resumeClientReads() {
        readsPaused = false
        timeouts?.clientReads(paused: false)
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    /// The exchange is over: run the complete phase (logs, metrics) and get ready for the next request.
    func finish(_ exchange: Exchange, notifyTimeouts: Bool) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        if let cache = exchange.cache {
            cache.waitTimer?.cancel()
            completeFill(cache, .abandoned, now: ProxyRuntime.wallMillis() / 1000)
        }
        if exchange.end == nil { exchange.end = .now() }
        if exchange.status == 0 { exchange.status = 499 }
        exchange.snapshot.chain.complete(exchange)
        if notifyTimeouts { timeouts?.responseFinished() }
        if !pipelined.isEmpty {
            context?.eventLoop.assumeIsolated().execute { self.replayPipelined() }
        } else if quiescing {
            context?.close(promise: nil)
        } else {
            resumeClientReads()
        }
    }
}
