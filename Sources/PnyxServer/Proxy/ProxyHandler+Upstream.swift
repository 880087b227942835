import NIOCore
import NIOHTTP1
import PnyxCore

/// The origin side: taking a pooled connection, sending the request, and relaying the response.
extension ProxyHandler {
    // MARK: upstream

    func connectUpstream(_ exchange: Exchange, forceNew: Bool) {
        guard let pool, let origin = exchange.resolvedOrigin else { return }
        exchange.phase = .connecting
        if !exchange.requestEnded { pauseClientReads() }
        if !forceNew, let connection = pool.takeIdle(origin) {
            // The common case: a pooled keep-alive connection, no future or callback needed.
            attach(connection, to: exchange)
            return
        }
        pool.acquire(origin, connectTimeout: exchange.route.connectTimeout, forceNew: forceNew)
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
                    if self.cacheOriginFailed(.unreachable, exchange: exchange) { return }
                    exchange.outcome = .upstreamError
                    exchange.decidedBy = .core
                    self.respondLocally(
                        exchange,
                        ErrorPage.response(
                            status: .badGateway, title: "Site temporarily unavailable",
                            message: "The election site's server could not be reached. Please try again in a few minutes.",
                            requestID: exchange.id, wantsJSON: ErrorPage.wantsJSON(exchange.head)),
                        runResponseFilters: true)
                }
            }
    }

    func attach(_ connection: UpstreamConnection, to exchange: Exchange) {
        guard let upstreamHead = exchange.upstreamHead else {
            pool?.release(connection)
            return
        }
        exchange.upstream = connection
        exchange.phase = .forwarding
        exchange.origin = exchange.resolvedOrigin?.address
        let now = NIODeadline.now()
        exchange.upstreamStart = now
        connection.begin(
            delegate: self,
            responseTimeout: exchange.route.responseTimeout,
            isHEAD: upstreamHead.method == .HEAD, now: now)
        let nothingBuffered = exchange.buffered.isEmpty
        // Nothing else to send now (the usual GET): the head is written and flushed in one pass.
        connection.sendHead(
            upstreamHead, chunked: exchange.upstreamChunked,
            flush: nothingBuffered && !(exchange.requestEnded && exchange.upstreamChunked))
        forwardBuffer.keep(upstreamHead.headers.bytes)
        if !nothingBuffered {
            for body in exchange.buffered { connection.sendBody(body) }
            exchange.buffered.removeAll()
        }
        if exchange.requestEnded { connection.sendEnd() } else { connection.flush() }
        if !exchange.requestEnded && connection.isWritable { resumeClientReads() }
    }

    func upstreamResponseHead(_ head: consuming ResponseHead) {
        guard let exchange, let context else { return }
        exchange.upstreamHeadAt = .now()
        let verdict = exchange.snapshot.chain.upstreamResponse(exchange, head: &head)
        if case .continue = verdict {
        } else {
            exchange.upstream?.abort()
            exchange.upstream = nil
            _ = apply(verdict, to: exchange)
            return
        }
        let chain = exchange.snapshot.chain
        if chain.collectsOriginBodies, let method = exchange.upstreamHead?.method, method != .HEAD,
            let collector = chain.originBody(exchange, head: head)
        {
            // A filter wants the whole body first (integrity for GETs, the WAF's phase 4 for any method's answer):
            // nothing goes to the client or the cache until it ends.
            exchange.collecting = OriginCollection(collector: collector, head: head)
            return
        }
        sendResponseHead(&head, exchange: exchange, context: context)
        exchange.upstream?.recycle(head)
    }

    /// The origin's head, after the origin-response filters: to the cache, the response filters and the client.
    func sendResponseHead(_ head: inout ResponseHead, exchange: Exchange, context: ChannelHandlerContext) {
        if cacheResponseHead(&head, exchange: exchange) { return }
        // The cache has the origin's head; what the client gets may be rewritten (its length is then unknown).
        if head.status == .ok, let rewriter = exchange.snapshot.chain.rewriteResponse(exchange, head: &head) {
            exchange.rewriter = rewriter
            head.headers.remove(name: "content-length")
        }
        // Hop-by-hop headers were already consumed by the upstream parser.
        exchange.snapshot.chain.response(exchange, head: &head)
        let bodyLength = prepare(&head, for: exchange)
        exchange.status = Int(head.status.code)
        exchange.responseStarted = true
        writeHead(head, bodyLength: bodyLength, context: context)
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        guard let exchange, let context else { return }
        if let collecting = exchange.collecting {
            if collecting.body.readableBytes + body.readableBytes <= collecting.collector.limit {
                collecting.body.writeImmutableBuffer(body)
                return
            }
            // Too long to judge: send on what was gathered, then stream the rest unchanged.
            exchange.collecting = nil
            collecting.collector.overflowed(exchange, head: collecting.head)
            var head = collecting.head
            sendResponseHead(&head, exchange: exchange, context: context)
            guard exchange.phase == .forwarding else { return }
            relayResponseBody(collecting.body, exchange: exchange, context: context)
        }
        relayResponseBody(body, exchange: exchange, context: context)
    }

    func relayResponseBody(_ body: ByteBuffer, exchange: Exchange, context: ChannelHandlerContext) {
        if let cache = exchange.cache {
            if cache.serveAfterEnd != nil || exchange.phase == .local { return }
            cacheResponseBody(body, exchange: exchange)
            // A HEAD request that leads a fetch asked the origin for the body (to store it): the client gets none.
            if facts.isHTTP2 && exchange.head.method == .HEAD { return }
        }
        let body = exchange.rewriter?.rewrite(body) ?? body
        exchange.responseBodyBytes += Int64(body.readableBytes)
        writeBody(body, exchange: exchange, context: context)
        if !clientWritable {
            // Pause before flushing: the flush may drain at once and report "writable" synchronously.
            exchange.upstream?.pauseReads()
            writePending(context: context)
            clientUnflushed = false
            context.flush()
        }
    }

    func upstreamReadComplete() {
        guard let context else { return }
        writePending(context: context)
        // Usually the response ended in this read and went out with `writeAndFlush`: nothing is left to flush.
        if clientUnflushed {
            clientUnflushed = false
            context.flush()
        }
    }

    func upstreamResponseEnd() {
        guard let exchange, let context else { return }
        var refusal: Verdict?
        if let collecting = exchange.collecting {
            exchange.collecting = nil
            var head = collecting.head
            var body = collecting.body
            let verdict = collecting.collector.finish(exchange, head: &head, body: &body)
            if case .continue = verdict {
                sendResponseHead(&head, exchange: exchange, context: context)
                if exchange.phase == .forwarding && body.readableBytes > 0 { relayResponseBody(body, exchange: exchange, context: context) }
            } else {
                refusal = verdict  // answered once the origin connection is back in the pool
            }
        }
        let now = NIODeadline.now()
        exchange.end = now
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
        if let refusal {
            // A filter refused the gathered response (nothing of it was sent): answered as in any other phase.
            _ = apply(refusal, to: exchange)
            return
        }
        if let cache = exchange.cache {
            if let object = cache.serveAfterEnd {
                cache.serveAfterEnd = nil
                serveCached(object, status: .revalidated, exchange: exchange)
                return
            }
            cacheResponseEnd(exchange: exchange)
        }
        if let rewriter = exchange.rewriter {
            exchange.rewriter = nil
            let tail = rewriter.finish()
            if tail.readableBytes > 0 && !(facts.isHTTP2 && exchange.head.method == .HEAD) {
                exchange.responseBodyBytes += Int64(tail.readableBytes)
                writeBody(tail, exchange: exchange, context: context)
            }
        }
        endResponse(exchange, context: context)
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard let exchange, let context else { return }
        exchange.upstream = nil
        exchange.collecting = nil
        if exchange.responseStarted {
            if let cache = exchange.cache { completeFill(cache, .abandoned, now: ProxyRuntime.wallMillis() / 1000) }
            // Nothing sensible can be said mid-response: drop the client connection so it sees the truncation.
            exchange.outcome = .upstreamError
            context.close(promise: nil)
            return
        }
        if case .closed = failure, exchange.retryable, !exchange.retried, exchange.upstreamHeadAt == nil {
            exchange.retried = true
            connectUpstream(exchange, forceNew: true)
            return
        }
        if cacheOriginFailed(failure.isTimeout ? .timeout : .unreachable, exchange: exchange) { return }
        exchange.outcome = .upstreamError
        exchange.decidedBy = .core
        let page = Self.originErrorPage(failure.isTimeout ? .timeout : .unreachable, exchange: exchange)
        respondLocally(exchange, page, runResponseFilters: true)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard let exchange, exchange.phase == .forwarding, !exchange.requestEnded else { return }
        if isWritable { resumeClientReads() } else { pauseClientReads() }
    }

}

extension UpstreamFailure {
    var isTimeout: Bool {
        if case .timeout = self { return true }
        return false
    }
}
