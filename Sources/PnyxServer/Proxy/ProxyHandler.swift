import NIOCore
import NIOHTTP1
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

    private let runtime: ProxyRuntime
    private let facts: ConnectionFacts
    private var context: ChannelHandlerContext?
    private var pool: UpstreamPool?
    private var exchange: Exchange?
    /// Requests that arrived (HTTP/1.1 pipelining) while an earlier response was still being sent. Replayed in
    /// order; reads stop while more than a few are queued.
    private var pipelined: [HTTPServerRequestPart] = []
    private var pipelinedHeads = 0
    static let maxPipelined = 8
    /// The server is shutting down: close after the current response (or now, if idle).
    private var quiescing = false
    /// After a local answer to a request whose body had not finished, the rest of the body is read and dropped
    /// for a short while before closing ("lingering close"), so the client sees the answer instead of a reset.
    private var discardingBody = false
    private var lingerBytes = 0
    private var lingerTimer: Scheduled<Void>?
    static let maxLingerBytes = 1 << 20
    static let lingerTime = TimeAmount.seconds(2)
    private var readsPaused = false
    private var pendingRead = false
    /// HTTP/1 response bytes not yet handed to the channel: the head and small body parts are gathered so that a
    /// typical response leaves in one write.
    private var pendingOutput: ByteBuffer?
    static let coalesceLimit = 16 * 1024
    private let idBase: UInt64
    private var idCount: UInt64 = 0
    /// This connection's `Forwarded` element for the last host asked for (the same on nearly every request).
    private var forwardedForHost = "\u{0}"
    private var forwardedElement = ""

    /// The connection's header-read and idle timer (HTTP/1 only); same pipeline, same event loop.
    private let timeouts: ConnectionTimer?

    init(runtime: ProxyRuntime, facts: ConnectionFacts, timeouts: ConnectionTimer? = nil) {
        self.runtime = runtime
        self.facts = facts
        self.timeouts = timeouts
        self.idBase = UInt64.random(in: 0...UInt64.max)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.pool = runtime.pools.pool(for: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
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

    private func isHead(_ part: HTTPServerRequestPart) -> Bool {
        if case .head = part { return true }
        return false
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
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
    private func replayPipelined() {
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
            if exchange.context.outcome == .forwarded && !exchange.responseEnded { exchange.context.outcome = .clientError }
            finish(exchange, notifyTimeouts: false)
        }
        lingerTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstream?.resumeReads() }
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
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        head.headers.add(name: "content-length", value: String(body.utf8.count))
        head.headers.add(name: "connection", value: "close")
        var bytes = HTTP1Serializer.responseHead(head, allocator: context.channel.allocator)
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

    private func pauseClientReads() { readsPaused = true }

    private func resumeClientReads() {
        readsPaused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    // MARK: request head

    private func startExchange(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        timeouts?.requestStarted()
        let snapshot = runtime.snapshots.snapshot
        let configuration = snapshot.configuration
        idCount &+= 1
        let id = RequestID(idBase &+ idCount)
        let client = snapshot.clientResolver.resolve(peer: facts.peer, headers: head.headers)
        let keepAlive = facts.isHTTP2 || head.isKeepAlive

        let hostValue = head.headers.first(name: "host")
        var host = hostValue.flatMap(HostRouter.normalize)
        if host == nil, hostValue == nil, head.version == .http1_0 { host = "" }

        func early(_ status: HTTPResponseStatus, _ title: String, _ message: String, route: SiteRoute? = nil) {
            let requestContext = RequestContext(
                id: id, site: route?.site ?? ProxyRuntime.unmatchedSite, client: client, head: head,
                scheme: facts.scheme, host: host ?? "", start: .now(), startWallMillis: ProxyRuntime.wallMillis(),
                events: snapshot.events)
            requestContext.outcome = .clientError
            requestContext.decidedBy = .core
            let exchange = Exchange(
                context: requestContext, snapshot: snapshot, route: route ?? SiteRoute(site: ProxyRuntime.unmatchedSite, origins: []),
                origin: nil,
                upstreamHead: head, keepAlive: keepAlive && status != .badRequest && !quiescing, retryable: false)
            self.exchange = exchange
            respondLocally(
                exchange, ErrorPage.response(status: status, title: title, message: message, requestID: id, wantsJSON: ErrorPage.wantsJSON(head)),
                runResponseFilters: route != nil)
        }

        guard let host else {
            early(.badRequest, "Bad request", "The request has no valid Host header.")
            return
        }
        guard head.method != .CONNECT, head.uri.hasPrefix("/") || (head.uri == "*" && head.method == .OPTIONS) else {
            early(.badRequest, "Bad request", "This server only accepts origin-form request targets.")
            return
        }
        guard let route = snapshot.router.site(for: host) else {
            early(.misdirectedRequest, "Unknown site", "This server does not serve the site you asked for.")
            return
        }
        guard head.uri.utf8.count <= configuration.limits.maxURIBytes else {
            early(.uriTooLong, "Address too long", "The requested address is longer than this site accepts.", route: route)
            return
        }

        let requestContext = RequestContext(
            id: id, site: route.site, client: client, head: head, scheme: facts.scheme, host: host, start: .now(),
            startWallMillis: ProxyRuntime.wallMillis(), events: snapshot.events)

        let hasBody = Self.hasBody(head)
        let retryable = !hasBody && (head.method == .GET || head.method == .HEAD || head.method == .OPTIONS)
        guard !route.origins.isEmpty else {
            early(.badGateway, "Site unavailable", "No origin is configured for this site.", route: route)
            return
        }
        let exchange = Exchange(
            context: requestContext, snapshot: snapshot, route: route, origin: route.pickOrigin(), upstreamHead: head,
            keepAlive: keepAlive && !quiescing, retryable: retryable)
        self.exchange = exchange

        if apply(snapshot.chain.requestHead(requestContext), to: exchange) { return }
        if apply(snapshot.chain.cache(requestContext), to: exchange) { return }

        if host != forwardedForHost {
            forwardedForHost = host
            forwardedElement = ForwardingHeaders.forwardedElement(
                peerText: facts.peerText, peer: facts.peer, scheme: facts.scheme, host: host)
        }
        let forwarded = ForwardingHeaders.build(
            from: head.headers, client: client, peerText: facts.peerText, scheme: facts.scheme, host: host,
            requestID: id, httpVersion: head.version, forwardedElement: forwardedElement,
            hostOverride: host.isEmpty ? exchange.origin?.address.authority : nil)
        var upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: forwarded.headers)
        if facts.isHTTP2 && !upstreamHead.headers.contains(name: "content-length")
            && (head.method == .POST || head.method == .PUT || head.method == .PATCH)
        {
            // HTTP/2 bodies need not announce a length; HTTP/1.1 to the origin then uses chunked framing.
            upstreamHead.headers.add(name: "transfer-encoding", value: "chunked")
        }
        let expectsContinue = forwarded.expectsContinue
        snapshot.chain.upstream(requestContext, head: &upstreamHead)
        exchange.upstreamHead = upstreamHead

        if expectsContinue && !facts.isHTTP2 && head.version == .http1_1 {
            context.writeAndFlush(NIOAny(IOData.byteBuffer(HTTP1Serializer.continueResponse)), promise: nil)
        }
        connectUpstream(exchange, forceNew: false)
    }

    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if let length = head.headers.first(name: "content-length") { return length != "0" }
        return head.headers.contains(name: "transfer-encoding")
    }

    /// Acts on a filter's verdict. Returns true when the request was answered locally.
    private func apply(_ verdict: Verdict, to exchange: Exchange) -> Bool {
        switch verdict {
        case .continue:
            return false
        case .respond(let response):
            exchange.context.outcome = .responded
            respondLocally(exchange, response, runResponseFilters: true)
            return true
        case .block(let block):
            let requestContext = exchange.context
            requestContext.outcome = .blocked
            requestContext.decidedBy = block.filter
            requestContext.rule = block.rule
            requestContext.emit(filter: block.filter, rule: block.rule, action: .block, evidence: block.evidence)
            if block.closeConnection { exchange.keepAlive = false }
            let page = ErrorPage.response(
                status: block.status, title: Self.title(for: block.status), message: block.message,
                requestID: requestContext.id, wantsJSON: ErrorPage.wantsJSON(requestContext.head))
            respondLocally(exchange, page, runResponseFilters: true)
            return true
        }
    }

    static func title(for status: HTTPResponseStatus) -> String {
        switch status.code {
        case 400: return "Bad request"
        case 403: return "Request blocked"
        case 413: return "Request too large"
        case 414: return "Address too long"
        case 429: return "Too many requests"
        default: return status.reasonPhrase
        }
    }

    // MARK: request body

    private func requestBody(_ body: ByteBuffer) {
        if discardingBody {
            lingerBytes += body.readableBytes
            if lingerBytes > Self.maxLingerBytes { context?.close(promise: nil) }
            return
        }
        guard let exchange else { return }
        exchange.bodyBytes += body.readableBytes
        exchange.context.requestBodyBytes = Int64(exchange.bodyBytes)
        if exchange.phase == .local { return }
        let verdict = exchange.snapshot.chain.requestBody(exchange.context, chunk: body, totalBytes: exchange.bodyBytes)
        if case .continue = verdict {
        } else {
            exchange.upstream?.abort()
            exchange.upstream = nil
            exchange.keepAlive = false
            if exchange.responseStarted {
                context?.close(promise: nil)
                return
            }
            _ = apply(verdict, to: exchange)
            return
        }
        switch exchange.phase {
        case .connecting:
            exchange.buffered.append(body)
        case .forwarding:
            guard let upstream = exchange.upstream else { return }
            upstream.sendBody(body)
            if !upstream.isWritable {
                // Pause before flushing: the flush may drain at once and report "writable" synchronously.
                pauseClientReads()
                upstream.flush()
            }
        case .local:
            break
        }
    }

    private func requestEnd() {
        if discardingBody {
            discardingBody = false
            lingerTimer?.cancel()
            lingerTimer = nil
            context?.close(promise: nil)
            return
        }
        guard let exchange else { return }
        exchange.requestEnded = true
        switch exchange.phase {
        case .connecting:
            break  // sent after the buffered body once connected
        case .forwarding:
            exchange.upstream?.sendEnd()
        case .local:
            break
        }
    }

    // MARK: upstream

    private func connectUpstream(_ exchange: Exchange, forceNew: Bool) {
        guard let pool, let origin = exchange.origin else { return }
        exchange.phase = .connecting
        if !exchange.requestEnded { pauseClientReads() }
        if !forceNew, let connection = pool.takeIdle(origin) {
            // The common case: a pooled keep-alive connection, no future or callback needed.
            attach(connection, to: exchange)
            return
        }
        let limits = exchange.route.site.configuration.limits
        pool.acquire(origin, connectTimeout: TimeAmount(limits.upstreamConnectTimeout), forceNew: forceNew)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    guard self.exchange === exchange, self.context != nil else {
                        pool.release(connection)
                        return
                    }
                    self.attach(connection, to: exchange)
                case .failure:
                    guard self.exchange === exchange else { return }
                    exchange.context.outcome = .upstreamError
                    exchange.context.decidedBy = .core
                    self.respondLocally(
                        exchange,
                        ErrorPage.response(
                            status: .badGateway, title: "Site temporarily unavailable",
                            message: "The election site's server could not be reached. Please try again in a few minutes.",
                            requestID: exchange.context.id, wantsJSON: ErrorPage.wantsJSON(exchange.context.head)),
                        runResponseFilters: true)
                }
            }
    }

    private func attach(_ connection: UpstreamConnection, to exchange: Exchange) {
        exchange.upstream = connection
        exchange.phase = .forwarding
        exchange.context.origin = exchange.origin?.address
        let now = NIODeadline.now()
        exchange.context.upstreamStart = now
        connection.begin(
            delegate: self,
            responseTimeout: TimeAmount(exchange.route.site.configuration.limits.upstreamResponseTimeout),
            isHEAD: exchange.upstreamHead.method == .HEAD, now: now)
        connection.sendHead(exchange.upstreamHead)
        for body in exchange.buffered { connection.sendBody(body) }
        exchange.buffered.removeAll()
        if exchange.requestEnded { connection.sendEnd() } else { connection.flush() }
        if !exchange.requestEnded && connection.isWritable { resumeClientReads() }
    }

    func upstreamResponseHead(_ head: HTTPResponseHead) {
        guard let exchange, let context else { return }
        let requestContext = exchange.context
        requestContext.upstreamHeadAt = .now()
        var head = head
        let verdict = exchange.snapshot.chain.upstreamResponse(requestContext, head: &head)
        if case .continue = verdict {
        } else {
            exchange.upstream?.abort()
            exchange.upstream = nil
            _ = apply(verdict, to: exchange)
            return
        }
        // Hop-by-hop headers were already consumed by the upstream parser.
        exchange.snapshot.chain.response(requestContext, head: &head)
        prepare(&head, for: exchange)
        requestContext.status = Int(head.status.code)
        exchange.responseStarted = true
        writeHead(head, context: context)
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        guard let exchange, let context else { return }
        exchange.context.responseBodyBytes += Int64(body.readableBytes)
        writeBody(body, exchange: exchange, context: context)
        if !context.channel.isWritable {
            // Pause before flushing: the flush may drain at once and report "writable" synchronously.
            exchange.upstream?.pauseReads()
            writePending(context: context)
            context.flush()
        }
    }

    func upstreamReadComplete() {
        guard let context else { return }
        writePending(context: context)
        context.flush()
    }

    func upstreamResponseEnd() {
        guard let exchange, let context else { return }
        let now = NIODeadline.now()
        exchange.context.end = now
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            if exchange.requestEnded && upstream.responseKeepAlive {
                pool?.release(upstream, now: now)
            } else {
                upstream.abort()
            }
        }
        if !exchange.requestEnded {
            // The origin answered before the client finished sending: stop reading the rest.
            exchange.keepAlive = false
        }
        endResponse(exchange, context: context)
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard let exchange, let context else { return }
        exchange.upstream = nil
        if exchange.responseStarted {
            // Nothing sensible can be said mid-response: drop the client connection so it sees the truncation.
            exchange.context.outcome = .upstreamError
            context.close(promise: nil)
            return
        }
        if case .closed = failure, exchange.retryable, !exchange.retried, exchange.context.upstreamHeadAt == nil {
            exchange.retried = true
            connectUpstream(exchange, forceNew: true)
            return
        }
        exchange.context.outcome = .upstreamError
        exchange.context.decidedBy = .core
        let page: LocalResponse
        if case .timeout = failure {
            page = ErrorPage.response(
                status: .gatewayTimeout, title: "Site is slow to respond",
                message: "The election site's server did not answer in time. Please try again in a few minutes.",
                requestID: exchange.context.id, wantsJSON: ErrorPage.wantsJSON(exchange.context.head))
        } else {
            page = ErrorPage.response(
                status: .badGateway, title: "Site temporarily unavailable",
                message: "The election site's server could not complete the request. Please try again in a few minutes.",
                requestID: exchange.context.id, wantsJSON: ErrorPage.wantsJSON(exchange.context.head))
        }
        respondLocally(exchange, page, runResponseFilters: true)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard let exchange, exchange.phase == .forwarding, !exchange.requestEnded else { return }
        if isWritable { resumeClientReads() } else { pauseClientReads() }
    }

    // MARK: responses

    /// Sets the response version, framing and connection headers for the client's protocol.
    private func prepare(_ head: inout HTTPResponseHead, for exchange: Exchange) {
        if facts.isHTTP2 {
            exchange.framing = .raw
            return
        }
        let requestHead = exchange.context.head
        let version: HTTPVersion = requestHead.version == .http1_0 ? .http1_0 : .http1_1
        if head.version != version { head.version = version }  // setting it unconditionally copies the head
        let code = head.status.code
        if requestHead.method == .HEAD || code == 204 || code == 304 || code < 200 {
            exchange.framing = .none
        } else if head.headers.contains(name: "content-length") {
            exchange.framing = .raw
        } else if requestHead.version == .http1_1 {
            head.headers.add(name: "transfer-encoding", value: "chunked")
            exchange.framing = .chunked
        } else {
            // An HTTP/1.0 client and no length: the body ends when the connection closes.
            exchange.framing = .raw
            exchange.keepAlive = false
        }
        if !exchange.keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if requestHead.version == .http1_0 {
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
    }

    private func writeHead(_ head: HTTPResponseHead, context: ChannelHandlerContext) {
        if facts.isHTTP2 {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        } else {
            writePending(context: context)
            var extra = 0
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length <= Self.coalesceLimit {
                extra = length
            }
            pendingOutput = HTTP1Serializer.responseHead(head, allocator: context.channel.allocator, extra: extra)
        }
    }

    private func writeBody(_ body: ByteBuffer, exchange: Exchange, context: ChannelHandlerContext) {
        if facts.isHTTP2 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            return
        }
        let size = body.readableBytes
        switch exchange.framing {
        case .none:
            break
        case .raw:
            if var out = pendingOutput, size <= Self.coalesceLimit {
                pendingOutput = nil
                out.writeImmutableBuffer(body)
                pendingOutput = out
            } else {
                writePending(context: context)
                context.write(NIOAny(IOData.byteBuffer(body)), promise: nil)
            }
        case .chunked:
            guard size > 0 else { return }
            if var out = pendingOutput, size <= Self.coalesceLimit {
                pendingOutput = nil
                out.writeString(String(size, radix: 16))
                out.writeStaticString("\r\n")
                out.writeImmutableBuffer(body)
                out.writeStaticString("\r\n")
                pendingOutput = out
            } else {
                writePending(context: context)
                context.write(NIOAny(IOData.byteBuffer(HTTP1Serializer.chunkHeader(size, allocator: context.channel.allocator))), promise: nil)
                context.write(NIOAny(IOData.byteBuffer(body)), promise: nil)
                context.write(NIOAny(IOData.byteBuffer(HTTP1Serializer.crlf)), promise: nil)
            }
        }
    }

    /// Hands gathered response bytes to the channel (without flushing).
    private func writePending(context: ChannelHandlerContext) {
        if let out = pendingOutput {
            pendingOutput = nil
            context.write(NIOAny(IOData.byteBuffer(out)), promise: nil)
        }
    }

    /// Writes the end of the response and flushes; `promise` completes when everything is on the wire.
    private func writeEnd(exchange: Exchange, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if facts.isHTTP2 {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
            return
        }
        if exchange.framing == .chunked {
            if var out = pendingOutput {
                pendingOutput = nil
                out.writeStaticString("0\r\n\r\n")
                pendingOutput = out
            } else {
                pendingOutput = HTTP1Serializer.lastChunk
            }
        }
        if let out = pendingOutput {
            pendingOutput = nil
            context.writeAndFlush(NIOAny(IOData.byteBuffer(out)), promise: promise)
        } else if let promise {
            // An empty write completes after everything before it is on the wire.
            context.writeAndFlush(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise)
        } else {
            context.flush()
        }
    }

    private func respondLocally(_ exchange: Exchange, _ response: LocalResponse, runResponseFilters: Bool) {
        guard let context else { return }
        exchange.phase = .local
        exchange.buffered.removeAll()
        // A request body that has not been read would have to be drained: close instead. A body-less request's
        // `end` part is simply ignored when it arrives, and the connection stays open.
        if !exchange.requestEnded && Self.hasBody(exchange.context.head) { exchange.keepAlive = false }
        var head = HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers)
        head.headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        if runResponseFilters { exchange.snapshot.chain.response(exchange.context, head: &head) }
        prepare(&head, for: exchange)
        exchange.context.status = Int(head.status.code)
        exchange.responseStarted = true
        writeHead(head, context: context)
        if response.body.readableBytes > 0 && exchange.context.head.method != .HEAD {
            exchange.context.responseBodyBytes = Int64(response.body.readableBytes)
            writeBody(response.body, exchange: exchange, context: context)
        }
        endResponse(exchange, context: context)
    }

    /// Writes the end of the response, closes (or lingers) when the connection cannot be reused, and finishes.
    private func endResponse(_ exchange: Exchange, context: ChannelHandlerContext) {
        let close = !exchange.keepAlive
        let linger = close && !exchange.requestEnded && !facts.isHTTP2 && Self.hasBody(exchange.context.head)
        exchange.responseEnded = true
        if linger {
            discardingBody = true
            lingerBytes = 0
            writeEnd(exchange: exchange, context: context, promise: nil)
            let channel = context.channel
            lingerTimer = context.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        } else if close {
            let channel = context.channel
            let promise = context.eventLoop.makePromise(of: Void.self)
            writeEnd(exchange: exchange, context: context, promise: promise)
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            writeEnd(exchange: exchange, context: context, promise: nil)
        }
        finish(exchange, notifyTimeouts: !close)
    }

    /// The exchange is over: run the complete phase (logs, metrics) and get ready for the next request.
    private func finish(_ exchange: Exchange, notifyTimeouts: Bool) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        let requestContext = exchange.context
        if requestContext.end == nil { requestContext.end = .now() }
        if requestContext.status == 0 { requestContext.status = 499 }
        exchange.snapshot.chain.complete(requestContext)
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
