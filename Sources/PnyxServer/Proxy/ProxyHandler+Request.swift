import NIOCore
import NIOHTTP1
import PnyxCore

/// The request side: the head (site, client, filters, the upstream head) and the body.
extension ProxyHandler {
    // MARK: request head

    func startExchange(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        // An HTTP/2 request may have a body without announcing one: its body ends with the stream's END_STREAM.
        timeouts?.requestStarted(hasBody: facts.isHTTP2 || head.announcesBody)
        let snapshot = snapshotCell?.load(ordering: .acquiring) ?? runtime.snapshots.snapshot
        idCount &+= 1
        let id = RequestID(idBase &+ idCount)
        let client = snapshot.clientResolver.resolve(peer: facts.peer, headers: head.headers)
        let keepAlive = facts.isHTTP2 || head.isKeepAlive

        let hostValue = head.headers.first(name: "host")
        var host: String?
        if let hostValue, hostValue == routeCache.hostValue {
            host = routeCache.host  // the same Host as the connection's last request (nearly always)
        } else {
            host = hostValue.flatMap(HostRouter.normalize)
            if host == nil, hostValue == nil, head.version == .http1_0 { host = "" }
        }

        func early(_ status: HTTPResponseStatus, _ title: String, _ message: String, route: SiteRoute? = nil) {
            let exchange = Exchange(
                id: id, site: route?.site ?? ProxyRuntime.unmatchedSite, client: client, head: head,
                scheme: facts.scheme, host: host ?? "", start: .now(), startWallMillis: ProxyRuntime.wallMillis(),
                events: snapshot.events, snapshot: snapshot, route: route ?? ProxyRuntime.unmatchedRoute, origin: nil,
                keepAlive: keepAlive && status != .badRequest && !quiescing, retryable: false)
            exchange.outcome = .clientError
            exchange.decidedBy = .core
            self.exchange = exchange
            respondLocally(
                exchange, ErrorPage.response(status: status, title: title, message: message, requestID: id, wantsJSON: ErrorPage.wantsJSON(head)),
                runResponseFilters: route != nil)
        }

        guard let host else {
            early(.badRequest, "Bad request", "The request has no valid Host header.")
            return
        }
        let uri = head.uri
        guard head.method != .CONNECT, uri.utf8.first == UInt8(ascii: "/") || (uri == "*" && head.method == .OPTIONS) else {
            early(.badRequest, "Bad request", "This server only accepts origin-form request targets.")
            return
        }
        let route: SiteRoute?
        if host == routeCache.host, snapshot.generation == routeCache.generation, let cached = routeCache.route {
            route = cached
        } else {
            route = snapshot.router.site(for: host)
            routeCache = RouteCache(hostValue: hostValue, host: host, generation: snapshot.generation, route: route)
        }
        guard let route else {
            early(.misdirectedRequest, "Unknown site", "This server does not serve the site you asked for.")
            return
        }
        guard uri.utf8.count <= snapshot.maxURIBytes else {
            early(.uriTooLong, "Address too long", "The requested address is longer than this site accepts.", route: route)
            return
        }

        let hasBody = head.announcesBody
        let retryable = !hasBody && (head.method == .GET || head.method == .HEAD || head.method == .OPTIONS)
        guard !route.origins.isEmpty else {
            early(.badGateway, "Site unavailable", "No origin is configured for this site.", route: route)
            return
        }
        // The exchange is the request's context too: the filters see it as a `RequestContext`.
        let exchange = Exchange(
            id: id, site: route.site, client: client, head: head, scheme: facts.scheme, host: host, start: .now(),
            startWallMillis: ProxyRuntime.wallMillis(), events: snapshot.events, snapshot: snapshot, route: route,
            origin: route.pickOrigin(), keepAlive: keepAlive && !quiescing, retryable: retryable)
        self.exchange = exchange

        if apply(snapshot.chain.requestHead(exchange), to: exchange) { return }
        if exchange.bodyHold != nil, hasBody {
            startHolding(exchange, context: context)
            return
        }
        if apply(snapshot.chain.cache(exchange), to: exchange) { return }

        if lookUpCache(exchange) { return }
        forward(exchange)
    }

    /// A filter asked to see the whole body first: read it here (nothing goes upstream yet).
    func startHolding(_ exchange: Exchange, context: ChannelHandlerContext) {
        exchange.phase = .holding
        let head = exchange.head
        if !facts.isHTTP2, head.version == .http1_1,
            head.headers.first(name: "expect")?.lowercased() == "100-continue"
        {
            exchange.continueSent = true
            context.writeAndFlush(NIOAny(IOData.byteBuffer(HTTP1Serializer.continueResponse)), promise: nil)
        }
    }

    /// The held body ended (or went past the hold limit with `rejectLarger` off): run `inspectBody`, then go on.
    func finishHolding(_ exchange: Exchange, inspect: Bool) {
        let snapshot = exchange.snapshot
        exchange.phase = .connecting
        if inspect {
            if apply(snapshot.chain.inspectBody(exchange, body: exchange.held), to: exchange) { return }
        }
        exchange.buffered = [exchange.held]
        exchange.held = ByteBuffer()
        if apply(snapshot.chain.cache(exchange), to: exchange) { return }
        forward(exchange)
    }

    /// Builds the origin request head (forwarding headers, the cache's conditionals) and sends it.
    func forward(_ exchange: Exchange) {
        guard let context else { return }
        let head = exchange.head
        let host = exchange.host
        let client = exchange.client
        let id = exchange.id
        let snapshot = exchange.snapshot
        if host != forwardedForHost {
            forwardedForHost = host
            forwardedElement = ForwardingHeaders.forwardedElement(
                peerText: facts.peerText, peer: facts.peer, scheme: facts.scheme, host: host)
        }
        let forwarded = ForwardingHeaders.build(
            from: head.headers, client: client, peerText: facts.peerText, scheme: facts.scheme, host: host,
            requestID: id, httpVersion: head.version, forwardedElement: forwardedElement,
            hostOverride: host.isEmpty ? exchange.resolvedOrigin?.address.authority : nil, recycling: &forwardBuffer)
        var upstreamHead = UpstreamRequestHead(method: head.method, uri: exchange.uri, headers: forwarded.headers)
        exchange.upstreamChunked = forwarded.chunked
        if facts.isHTTP2 && !forwarded.chunked && !upstreamHead.headers.contains(name: "content-length")
            && (head.method == .POST || head.method == .PUT || head.method == .PATCH)
        {
            // HTTP/2 bodies need not announce a length; HTTP/1.1 to the origin then uses chunked framing.
            upstreamHead.headers.add(literalName: "transfer-encoding", literalValue: "chunked")
            exchange.upstreamChunked = true
        }
        let expectsContinue = forwarded.expectsContinue
        if let cache = exchange.cache { prepareCacheFetch(cache, head: &upstreamHead) }
        snapshot.chain.upstream(exchange, head: &upstreamHead)
        exchange.upstreamHead = upstreamHead

        if expectsContinue && !facts.isHTTP2 && head.version == .http1_1 && !exchange.continueSent {
            context.writeAndFlush(NIOAny(IOData.byteBuffer(HTTP1Serializer.continueResponse)), promise: nil)
        }
        connectUpstream(exchange, forceNew: false)
    }

    /// The connection's last Host header, what it normalized to, and its route in a given snapshot generation.
    struct RouteCache {
        var hostValue: String?
        var host: String = "\u{0}"
        var generation = -1
        var route: SiteRoute?
    }

    /// Acts on a filter's verdict. Returns true when the request was answered locally.
    func apply(_ verdict: Verdict, to exchange: Exchange) -> Bool {
        switch verdict {
        case .continue:
            return false
        case .respond(let response):
            // A filter may have said more precisely what it did (the challenge sets `.challenged`).
            if exchange.outcome == .forwarded { exchange.outcome = .responded }
            respondLocally(exchange, response, runResponseFilters: true)
            return true
        case .block(let block):
            exchange.outcome = .blocked
            exchange.decidedBy = block.filter
            exchange.rule = block.rule
            if block.record {
                exchange.emit(filter: block.filter, rule: block.rule, action: .block, evidence: block.evidence)
            }
            if block.closeConnection { exchange.keepAlive = false }
            var page = ErrorPage.response(
                status: block.status, title: Self.title(for: block.status), message: block.message,
                requestID: exchange.id, wantsJSON: ErrorPage.wantsJSON(exchange.head))
            if let seconds = block.retryAfterSeconds { page.headers.add(name: "retry-after", value: String(seconds)) }
            respondLocally(exchange, page, runResponseFilters: true)
            return true
        case .consume(let consumer):
            if exchange.outcome == .forwarded { exchange.outcome = .responded }
            exchange.phase = .local
            exchange.consumer = consumer
            if exchange.requestEnded { finishConsuming(exchange) }
            return true
        }
    }

    /// The body a filter consumed has ended: send its answer.
    func finishConsuming(_ exchange: Exchange) {
        guard let consumer = exchange.consumer else { return }
        exchange.consumer = nil
        respondLocally(exchange, consumer.finish(exchange), runResponseFilters: true)
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

    func requestBody(_ body: ByteBuffer) {
        if discardingBody {
            lingerBytes += body.readableBytes
            if lingerBytes > Self.maxLingerBytes { context?.close(promise: nil) }
            return
        }
        guard let exchange else { return }
        timeouts?.bodyReceived(body.readableBytes)
        exchange.bodyBytes += body.readableBytes
        exchange.requestBodyBytes = Int64(exchange.bodyBytes)
        if let consumer = exchange.consumer {
            guard exchange.bodyBytes <= consumer.limit else {
                exchange.consumer = nil
                exchange.keepAlive = false
                respondLocally(
                    exchange,
                    ErrorPage.response(
                        status: .payloadTooLarge, title: "Request too large", message: "The request body is larger than this address accepts.",
                        requestID: exchange.id, wantsJSON: true),
                    runResponseFilters: true)
                return
            }
            consumer.consume(body)
            return
        }
        if exchange.phase == .local { return }
        let verdict = exchange.snapshot.chain.requestBody(exchange, chunk: body, totalBytes: exchange.bodyBytes)
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
        case .holding:
            let hold = exchange.bodyHold
            if let hold, exchange.bodyBytes > hold.limit {
                if hold.rejectLarger {
                    exchange.keepAlive = false
                    _ = apply(.block(Block(
                        status: .payloadTooLarge, filter: .core, rule: "inspection_limit",
                        message: "The request body is larger than this site can inspect (\(hold.limit) bytes).",
                        evidence: "body bytes>\(hold.limit)", closeConnection: true)), to: exchange)
                    return
                }
                // Too long to inspect, and the policy is to pass it: it goes on uninspected.
                var body = body
                exchange.held.writeBuffer(&body)
                exchange.bodyOverflowed = true
                finishHolding(exchange, inspect: false)
                return
            }
            var body = body
            exchange.held.writeBuffer(&body)
        case .connecting, .waiting:
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

    func requestEnd() {
        if discardingBody {
            discardingBody = false
            lingerTimer?.cancel()
            lingerTimer = nil
            context?.close(promise: nil)
            return
        }
        timeouts?.requestBodyEnded()
        guard let exchange else { return }
        exchange.requestEnded = true
        if exchange.consumer != nil {
            finishConsuming(exchange)
            return
        }
        switch exchange.phase {
        case .holding:
            finishHolding(exchange, inspect: true)
        case .connecting:
            break  // sent after the buffered body once connected
        case .forwarding:
            exchange.upstream?.sendEnd()
        case .local, .waiting:
            break
        }
    }

}
