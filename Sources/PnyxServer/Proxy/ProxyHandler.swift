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
    /// After a local answer to a request whose body had not finished, the rest of the body is dropped.
    private var discardingBody = false
    private var readsPaused = false
    private var pendingRead = false
    private let idBase: UInt64
    private var idCount: UInt64 = 0

    init(runtime: ProxyRuntime, facts: ConnectionFacts) {
        self.runtime = runtime
        self.facts = facts
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
        switch unwrapInboundIn(data) {
        case .head(let head):
            discardingBody = false
            startExchange(head, context: context)
        case .body(let body):
            requestBody(body)
        case .end:
            requestEnd()
        }
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
            if exchange.context.outcome == .forwarded { exchange.context.outcome = .clientError }
            finish(exchange, notifyTimeouts: false)
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstream?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
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
        if !facts.isHTTP2 { context.triggerUserOutboundEvent(ClientTimeoutHandler.RequestStarted(), promise: nil) }
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
                upstreamHead: head, keepAlive: false, retryable: false)
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
            keepAlive: keepAlive, retryable: retryable)
        self.exchange = exchange

        if apply(snapshot.chain.requestHead(requestContext), to: exchange) { return }
        if apply(snapshot.chain.cache(requestContext), to: exchange) { return }

        var upstreamHead = head
        upstreamHead.version = .http1_1
        let chunked = head.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
        HopByHop.strip(&upstreamHead.headers)
        let expectsContinue = upstreamHead.headers["expect"].contains { $0.lowercased() == "100-continue" }
        if expectsContinue { upstreamHead.headers.remove(name: "expect") }
        if chunked && !upstreamHead.headers.contains(name: "content-length") {
            upstreamHead.headers.add(name: "transfer-encoding", value: "chunked")
        }
        if host.isEmpty, let origin = exchange.origin {
            upstreamHead.headers.replaceOrAdd(name: "host", value: origin.address.authority)
        }
        ForwardingHeaders.apply(
            to: &upstreamHead.headers, client: client, scheme: facts.scheme, host: host, requestID: id,
            httpVersion: head.version)
        snapshot.chain.upstream(requestContext, head: &upstreamHead)
        exchange.upstreamHead = upstreamHead

        if expectsContinue && !facts.isHTTP2 && head.version == .http1_1 {
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
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
        guard let exchange, !discardingBody else { return }
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
            exchange.buffered.append(.body(.byteBuffer(body)))
        case .forwarding:
            guard let upstream = exchange.upstream else { return }
            upstream.write(.body(.byteBuffer(body)))
            if !upstream.isWritable {
                upstream.flush()
                pauseClientReads()
            }
        case .local:
            break
        }
    }

    private func requestEnd() {
        guard let exchange else {
            discardingBody = false
            return
        }
        exchange.requestEnded = true
        switch exchange.phase {
        case .connecting:
            exchange.buffered.append(.end(nil))
        case .forwarding:
            exchange.upstream?.write(.end(nil))
            exchange.upstream?.flush()
        case .local:
            break
        }
    }

    // MARK: upstream

    private func connectUpstream(_ exchange: Exchange, forceNew: Bool) {
        guard let pool, let origin = exchange.origin else { return }
        exchange.phase = .connecting
        if !exchange.requestEnded { pauseClientReads() }
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
        exchange.context.upstreamStart = .now()
        connection.begin(
            delegate: self,
            responseTimeout: TimeAmount(exchange.route.site.configuration.limits.upstreamResponseTimeout))
        connection.write(.head(exchange.upstreamHead))
        for part in exchange.buffered { connection.write(part) }
        exchange.buffered.removeAll()
        connection.flush()
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
        HopByHop.strip(&head.headers)
        prepare(&head, for: exchange, bodyLength: nil)
        exchange.snapshot.chain.response(requestContext, head: &head)
        requestContext.status = Int(head.status.code)
        exchange.responseStarted = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        guard let exchange, let context else { return }
        exchange.context.responseBodyBytes += Int64(body.readableBytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if !context.channel.isWritable {
            context.flush()
            exchange.upstream?.pauseReads()
        }
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamResponseEnd() {
        guard let exchange, let context else { return }
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            if exchange.requestEnded && upstream.responseKeepAlive {
                pool?.release(upstream)
            } else {
                upstream.abort()
            }
        }
        if !exchange.requestEnded {
            // The origin answered before the client finished sending: stop reading the rest.
            exchange.keepAlive = false
            discardingBody = true
        }
        let close = !exchange.keepAlive
        let promise: EventLoopPromise<Void>? = close ? context.eventLoop.makePromise() : nil
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if let promise {
            let channel = context.channel
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        finish(exchange, notifyTimeouts: !close)
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

    /// Sets the response version and connection headers for the client's protocol.
    private func prepare(_ head: inout HTTPResponseHead, for exchange: Exchange, bodyLength: Int?) {
        if facts.isHTTP2 { return }
        let requestHead = exchange.context.head
        head.version = requestHead.version == .http1_0 ? .http1_0 : .http1_1
        if requestHead.version == .http1_0 && !head.headers.contains(name: "content-length") && bodyLength == nil
            && head.status.code != 204 && head.status.code != 304 && requestHead.method != .HEAD
        {
            exchange.keepAlive = false
        }
        if !exchange.keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if requestHead.version == .http1_0 {
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
    }

    private func respondLocally(_ exchange: Exchange, _ response: LocalResponse, runResponseFilters: Bool) {
        guard let context else { return }
        exchange.phase = .local
        exchange.buffered.removeAll()
        if !exchange.requestEnded {
            exchange.keepAlive = false
            discardingBody = true
        }
        var head = HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers)
        head.headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        prepare(&head, for: exchange, bodyLength: response.body.readableBytes)
        if runResponseFilters { exchange.snapshot.chain.response(exchange.context, head: &head) }
        exchange.context.status = Int(head.status.code)
        exchange.responseStarted = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0 && exchange.context.head.method != .HEAD {
            exchange.context.responseBodyBytes = Int64(response.body.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let close = !exchange.keepAlive
        let promise: EventLoopPromise<Void>? = close ? context.eventLoop.makePromise() : nil
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if let promise {
            let channel = context.channel
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        finish(exchange, notifyTimeouts: !close)
    }

    /// The exchange is over: run the complete phase (logs, metrics) and get ready for the next request.
    private func finish(_ exchange: Exchange, notifyTimeouts: Bool) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        let requestContext = exchange.context
        requestContext.end = .now()
        if requestContext.status == 0 { requestContext.status = 499 }
        exchange.snapshot.chain.complete(requestContext)
        if notifyTimeouts, !facts.isHTTP2, let context {
            context.triggerUserOutboundEvent(ClientTimeoutHandler.ResponseFinished(), promise: nil)
        }
        resumeClientReads()
    }
}
