import NIOCore
import NIOHTTP1
import PnyxCache
import PnyxCore

/// The cache phase: answering from the cache, waiting for another request's fetch (coalescing), leading a
/// fetch and storing its response, and standing in with a stale copy when the origin fails.
extension ProxyHandler {
    /// Looks the request up. Returns true when it was answered (or is waiting); false when it goes to the origin,
    /// with `exchange.cache` set if the response may be stored or a stale copy may stand in.
    func lookUpCache(_ exchange: Exchange) -> Bool {
        let policy = exchange.route.cachePolicy
        let head = exchange.head
        guard policy.enabled, head.method == .GET || head.method == .HEAD else {
            exchange.cacheStatus = .bypass
            return false
        }
        let rule = policy.rules.isEmpty ? nil : policy.rule(for: exchange.path)
        if let rule, rule.action == .bypass {
            exchange.cacheStatus = .bypass
            return false
        }
        if !(rule?.shareAuthorized ?? false) && head.headers.contains(name: "authorization") {
            exchange.cacheStatus = .bypass
            return false
        }
        let key = CacheKey(
            site: exchange.site.name.rawValue, host: exchange.host, target: head.uri,
            ignoreQuery: rule?.ignoreQuery ?? false)
        let now = exchange.startWallMillis / 1000
        let headers = head.headers
        let requestValue: (String) -> [String] = { headers[$0] }

        if let front = cacheFront, let object = front.get(key, requestValue: requestValue), case .fresh = object.use(now: now) {
            serveCached(object, status: .hit, exchange: exchange)
            return true
        }
        let lookup = runtime.cache.store.lookup(key, requestValue: requestValue, now: now) {
            self.makeWaiter(for: exchange)
        }
        switch lookup {
        case .found(let object, let refresh):
            cacheFront?.put(object)
            if case .fresh = object.use(now: now) {
                serveCached(object, status: .hit, exchange: exchange)
            } else {
                serveCached(object, status: .stale, exchange: exchange)
            }
            if let refresh { startRefresh(refresh, stale: object, exchange: exchange) }
            return true
        case .lead(let fill, let stale):
            exchange.cache = CacheExchange(key: key, rule: rule, fill: fill, stale: stale, requestTime: now)
            if stale == nil, let disk = runtime.cache.disk, disk.mayHave(key) {
                readFromDisk(disk, exchange: exchange)
                return true
            }
            return leadFetch(exchange, now: now)
        case .wait(let stale):
            exchange.phase = .waiting
            let cache = CacheExchange(key: key, rule: rule, fill: nil, stale: stale, requestTime: now)
            exchange.cache = cache
            cache.waitTimer = context?.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(policy.coalesceWait)) {
                self.stopWaiting(exchange, result: nil)
            }
            return true
        case .pass(let stale):
            if exchange.route.allOriginsDown, let stale, stale.usableOnError(now: now) {
                serveCached(stale, status: .stale, exchange: exchange)
                return true
            }
            exchange.cacheStatus = .miss
            exchange.cache = CacheExchange(key: key, rule: rule, fill: nil, stale: stale, requestTime: now)
            return false
        }
    }

    /// This request fetches its key from the origin. When the health check says every origin is down, it is
    /// answered here instead (a stale copy or an emergency page, without trying) and true is returned.
    func leadFetch(_ exchange: Exchange, now: Int64) -> Bool {
        guard let cache = exchange.cache else { return false }
        if exchange.route.allOriginsDown {
            if let stale = cache.stale, stale.usableOnError(now: now) {
                completeFill(cache, .failed(.unreachable), now: now)
                serveCached(stale, status: .stale, exchange: exchange)
                return true
            }
            if exchange.route.staticPages?.page(for: exchange.path) != nil {
                completeFill(cache, .failed(.unreachable), now: now)
                return serveStaticPage(exchange)
            }
        }
        exchange.cacheStatus = cache.stale == nil ? .miss : .expired
        return false
    }

    /// A waiter that hops back to this handler's event loop with the fetch's result.
    func makeWaiter(for exchange: Exchange) -> CacheWaiter {
        let loop = context!.eventLoop
        let bound = NIOLoopBound((self, exchange), eventLoop: loop)
        return CacheWaiter { result in
            loop.execute {
                let (handler, exchange) = bound.value
                handler.stopWaiting(exchange, result: result)
            }
        }
    }

    /// The fetch this exchange waited for ended (or the wait timed out: `result` nil).
    func stopWaiting(_ exchange: Exchange, result: FillResult?) {
        guard self.exchange === exchange, exchange.phase == .waiting, let cache = exchange.cache else { return }
        cache.waitTimer?.cancel()
        cache.waitTimer = nil
        let now = ProxyRuntime.wallMillis() / 1000
        if cache.stale == nil, result == nil || result?.isFailure == true {
            // The leader may have found a copy since this request began waiting (the disk tier's, after a restart).
            let headers = exchange.head.headers
            cache.stale = runtime.cache.store.peek(cache.key, requestValue: { headers[$0] })
        }
        switch result {
        case .stored(let object):
            let headers = exchange.head.headers
            if ResponseStore.variant(in: [object], requestValue: { headers[$0] }) != nil {
                cacheFront?.put(object)
                serveCached(object, status: .hit, exchange: exchange)
                return
            }
        case .failed(let failure):
            if let stale = cache.stale, stale.usableOnError(now: now) {
                serveCached(stale, status: .stale, exchange: exchange)
                return
            }
            if serveStaticPage(exchange) { return }
            exchange.outcome = .upstreamError
            exchange.decidedBy = .core
            respondLocally(exchange, Self.originErrorPage(failure, exchange: exchange), runResponseFilters: true)
            return
        case nil:
            // Waited long enough: a stale copy now, or the origin directly.
            if let stale = cache.stale, stale.usableOnError(now: now) {
                serveCached(stale, status: .stale, exchange: exchange)
                return
            }
        case .uncacheable, .abandoned:
            break
        }
        exchange.cacheStatus = .miss
        exchange.phase = .connecting
        forward(exchange)
    }

    static func originErrorPage(_ failure: FillFailure, exchange: Exchange) -> LocalResponse {
        let context = exchange
        if failure == .timeout {
            return ErrorPage.response(
                status: .gatewayTimeout, title: "Site is slow to respond",
                message: "The election site's server did not answer in time. Please try again in a few minutes.",
                requestID: context.id, wantsJSON: ErrorPage.wantsJSON(context.head))
        }
        return ErrorPage.response(
            status: .badGateway, title: "Site temporarily unavailable",
            message: "The election site's server could not complete the request. Please try again in a few minutes.",
            requestID: context.id, wantsJSON: ErrorPage.wantsJSON(context.head))
    }

    /// The origin request of a fetch: a full GET (the client's own conditionals and ranges are answered from
    /// the stored copy), revalidating the stale copy with its validators.
    func prepareCacheFetch(_ cache: CacheExchange, head: inout UpstreamRequestHead) {
        guard cache.fill != nil else { return }
        if head.method == .HEAD { head.method = .GET }
        for name in ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "range", "if-range"] {
            head.headers.remove(name: name)
        }
        if let stale = cache.stale {
            if let etag = stale.etag { _ = head.headers.add(name: "if-none-match", value: etag) }
            if let lastModified = stale.lastModified { _ = head.headers.add(name: "if-modified-since", value: lastModified) }
        }
    }

    // MARK: the origin's answer

    /// Called with the origin's response head before it is sent on. Returns true when the cache took over the
    /// response (a stale copy stands in for a 5xx, or a 304 confirmed the stored copy).
    func cacheResponseHead(_ head: inout ResponseHead, exchange: Exchange) -> Bool {
        guard let cache = exchange.cache else {
            if exchange.cacheStatus != nil { addCacheStatus(&head, exchange) }
            return false
        }
        let status = Int(head.status.code)
        let now = ProxyRuntime.wallMillis() / 1000
        let store = runtime.cache.store
        if status == 304, let stale = cache.stale, cache.fill != nil {
            let object: CachedObject
            if let fresh = stale.revalidated(
                by: head.headers, requestHasAuthorization: exchange.head.headers.contains(name: "authorization"),
                rule: cache.rule, policy: exchange.route.cachePolicy, requestTime: cache.requestTime, responseTime: now,
                maxObjectBytes: store.maxObjectBytes)
            {
                object = fresh
                completeFill(cache, .stored(object), now: now)
                cacheFront?.put(object)
            } else {
                object = stale
                completeFill(cache, .uncacheable, now: now)
            }
            cache.serveAfterEnd = object
            return true
        }
        if status >= 500 {
            completeFill(cache, .failed(.serverError(status)), now: now)
            if let stale = cache.stale, stale.usableOnError(now: now) {
                exchange.upstream?.abort()
                exchange.upstream = nil
                serveCached(stale, status: .stale, exchange: exchange)
                return true
            }
            if serveStaticPage(exchange) {
                exchange.upstream?.abort()
                exchange.upstream = nil
                return true
            }
        } else if cache.fill != nil {
            let plan = StorePlan.decide(
                status: status, headers: head.headers,
                requestHasAuthorization: exchange.head.headers.contains(name: "authorization"), rule: cache.rule,
                policy: exchange.route.cachePolicy, requestTime: cache.requestTime, responseTime: now,
                maxObjectBytes: store.maxObjectBytes)
            switch plan {
            case .success(let plan):
                cache.plan = plan
                cache.status = status
                cache.headers = head.headers
                cache.body = ByteBuffer()
                if plan.stripCookies { head.headers.remove(name: "set-cookie") }
            case .failure:
                completeFill(cache, .uncacheable, now: now)
            }
        }
        addCacheStatus(&head, exchange)
        return false
    }

    func addCacheStatus(_ head: inout ResponseHead, _ context: RequestContext) {
        guard let status = context.cacheStatus else { return }
        _ = head.headers.add(name: "pnyx-cache", value: status.rawValue)
    }

    /// A body part from the origin: kept while the whole response may still be stored.
    func cacheResponseBody(_ body: ByteBuffer, exchange: Exchange) {
        guard let cache = exchange.cache, cache.plan != nil, var stored = cache.body else { return }
        cache.body = nil
        if Int64(stored.readableBytes + body.readableBytes) > runtime.cache.store.maxObjectBytes {
            cache.plan = nil
            completeFill(cache, .abandoned, now: ProxyRuntime.wallMillis() / 1000)
            return
        }
        stored.writeImmutableBuffer(body)
        cache.body = stored
    }

    /// The origin's response ended: store it, and wake the requests that waited for it.
    func cacheResponseEnd(exchange: Exchange) {
        guard let cache = exchange.cache, let plan = cache.plan, let body = cache.body, cache.fill != nil else { return }
        let now = ProxyRuntime.wallMillis() / 1000
        let headers = exchange.head.headers
        let vary = VaryKey(varyNames: plan.varyNames, requestValues: { headers[$0] })
        let object = CachedObject(
            key: cache.key, vary: vary, status: cache.status, headers: plan.storedHeaders(cache.headers, bodyLength: body.readableBytes),
            body: body, facts: plan.facts, grace: plan.grace)
        cache.plan = nil
        cache.body = nil
        completeFill(cache, .stored(object), now: now)
        cacheFront?.put(object)
    }

    /// The origin failed before answering. Returns true when a stale copy or a static page stood in.
    func cacheOriginFailed(_ failure: FillFailure, exchange: Exchange) -> Bool {
        guard let cache = exchange.cache else { return serveStaticPage(exchange) }
        let now = ProxyRuntime.wallMillis() / 1000
        completeFill(cache, .failed(failure), now: now)
        if let stale = cache.stale, stale.usableOnError(now: now) {
            serveCached(stale, status: .stale, exchange: exchange)
            return true
        }
        return serveStaticPage(exchange)
    }

    /// Ends the fetch this exchange leads, if any (once).
    func completeFill(_ cache: CacheExchange, _ result: FillResult, now: Int64) {
        guard let fill = cache.fill else { return }
        cache.fill = nil
        runtime.cache.complete(fill, with: result, now: now)
    }

    // MARK: serving stored responses

    /// Answers from a stored response: `304` for a matching conditional, `206` for a range, with `Age` and
    /// `Pnyx-Cache`.
    func serveCached(_ object: CachedObject, status: CacheStatus, exchange: Exchange) {
        guard let context else { return }
        exchange.cache?.waitTimer?.cancel()
        if let cache = exchange.cache { completeFill(cache, .abandoned, now: exchange.startWallMillis / 1000) }
        exchange.phase = .local
        exchange.buffered.removeAll()
        exchange.outcome = .cached
        exchange.cacheStatus = status
        let now = ProxyRuntime.wallMillis() / 1000
        let requestHeaders = exchange.head.headers
        var head = ResponseHead(status: HTTPResponseStatus(statusCode: object.status), headers: object.headers)
        var body = object.body
        _ = head.headers.add(name: "age", value: String(max(0, object.facts.currentAge(now: now))))
        if status == .stale && exchange.route.cachePolicy.staleWarning {
            head.headers.add(literalName: "warning", literalValue: "110 - \"Response is Stale\"")
        }
        _ = head.headers.add(name: "pnyx-cache", value: status.rawValue)
        if object.status == 200 {
            if ClientConditionals.notModified(
                ifNoneMatch: requestHeaders["if-none-match"], ifModifiedSince: requestHeaders.first(name: "if-modified-since"),
                etag: object.etag, lastModified: object.lastModified)
            {
                head.status = .notModified
                head.headers.remove(name: "content-length")
                body = ByteBuffer()
            } else {
                head.headers.add(literalName: "accept-ranges", literalValue: "bytes")
                switch ClientConditionals.range(
                    requestHeaders.first(name: "range"), ifRange: requestHeaders.first(name: "if-range"),
                    length: body.readableBytes, etag: object.etag, lastModified: object.lastModified)
                {
                case .whole:
                    break
                case .partial(let lower, let upper):
                    head.status = .partialContent
                    _ = head.headers.add(name: "content-range", value: "bytes \(lower)-\(upper)/\(body.readableBytes)")
                    body = body.getSlice(at: body.readerIndex + lower, length: upper - lower + 1) ?? ByteBuffer()
                    head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
                    // A signature and digest cover the whole content, not a part of it.
                    for name in ["content-digest", "signature", "signature-input"] { head.headers.remove(name: name) }
                case .unsatisfiable:
                    head.status = .rangeNotSatisfiable
                    _ = head.headers.add(name: "content-range", value: "bytes */\(body.readableBytes)")
                    body = ByteBuffer()
                    head.headers.replaceOrAdd(name: "content-length", value: "0")
                }
            }
        }
        if head.status == .ok, body.readableBytes > 0,
            let rewriter = exchange.snapshot.chain.rewriteResponse(exchange, head: &head)
        {
            var rewritten = rewriter.rewrite(body)
            var tail = rewriter.finish()
            rewritten.writeBuffer(&tail)
            body = rewritten
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        }
        exchange.snapshot.chain.response(exchange, head: &head)
        let bodyLength = prepare(&head, for: exchange)
        exchange.status = Int(head.status.code)
        exchange.responseStarted = true
        writeHead(head, bodyLength: bodyLength, context: context)
        if body.readableBytes > 0 && exchange.head.method != .HEAD && head.status != .notModified {
            exchange.responseBodyBytes = Int64(body.readableBytes)
            writeBody(body, exchange: exchange, context: context)
        }
        endResponse(exchange, context: context)
    }

    /// Serves the site's emergency static page for the request's path, if there is one.
    func serveStaticPage(_ exchange: Exchange) -> Bool {
        guard let pages = exchange.route.staticPages, exchange.head.method == .GET || exchange.head.method == .HEAD,
            let page = pages.page(for: exchange.path)
        else { return false }
        exchange.outcome = .cached
        exchange.cacheStatus = .static
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: page.contentType)
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "pnyx-cache", value: CacheStatus.static.rawValue)
        respondLocally(exchange, LocalResponse(status: .ok, headers: headers, body: page.body), runResponseFilters: true)
        return true
    }
}
