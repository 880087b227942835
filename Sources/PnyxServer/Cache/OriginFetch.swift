import NIOCore
import NIOHTTP1
import PnyxCache
import PnyxCore

/// A response fetched by Pnyx itself (not for a client): background refreshes, publish, health checks.
struct FetchedResponse {
    var head: ResponseHead
    var body: ByteBuffer
}

/// One request to an origin over a pooled connection of the current event loop, collecting the whole response
/// (up to `maxBody` bytes).
final class OriginFetch: UpstreamDelegate {
    private let promise: EventLoopPromise<FetchedResponse>
    private let pool: UpstreamPool
    private let maxBody: Int
    private var connection: UpstreamConnection?
    private var head: ResponseHead?
    private var body = ByteBuffer()

    private init(promise: EventLoopPromise<FetchedResponse>, pool: UpstreamPool, maxBody: Int) {
        self.promise = promise
        self.pool = pool
        self.maxBody = maxBody
    }

    /// Must be called on `pool.eventLoop`.
    static func run(
        pool: UpstreamPool, origin: ResolvedOrigin, head: UpstreamRequestHead, connectTimeout: TimeAmount,
        responseTimeout: TimeAmount, maxBody: Int
    ) -> EventLoopFuture<FetchedResponse> {
        let loop = pool.eventLoop
        let promise = loop.makePromise(of: FetchedResponse.self)
        let fetch = OriginFetch(promise: promise, pool: pool, maxBody: maxBody)
        pool.acquire(origin, connectTimeout: connectTimeout).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let connection):
                fetch.connection = connection
                connection.begin(delegate: fetch, responseTimeout: responseTimeout, isHEAD: head.method == .HEAD, now: .now())
                connection.sendHead(head, chunked: false)
                connection.sendEnd()
            case .failure(let error):
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    func upstreamResponseHead(_ head: consuming ResponseHead) { self.head = head }

    func upstreamResponseBody(_ body: ByteBuffer) {
        guard self.body.readableBytes + body.readableBytes <= maxBody else {
            connection?.abort()
            connection = nil
            promise.fail(OriginFetchError.tooLarge)
            return
        }
        var body = body
        self.body.writeBuffer(&body)
    }

    func upstreamResponseEnd() {
        if let connection {
            self.connection = nil
            if connection.responseKeepAlive { pool.release(connection) } else { connection.abort() }
        }
        guard let head else {
            promise.fail(OriginFetchError.noResponse)
            return
        }
        promise.succeed(FetchedResponse(head: head, body: body))
    }

    func upstreamReadComplete() {}

    func upstreamFailed(_ failure: UpstreamFailure) {
        connection = nil
        promise.fail(failure)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {}
}

enum OriginFetchError: Error {
    case tooLarge
    case noResponse
}

/// Refreshing a stored response without a client waiting: stale-while-revalidate and publish.
enum BackgroundRefresh {
    /// Fetches `key` from one of the route's origins (revalidating `stale`), stores the result and ends `fill`.
    /// Must be called on `pool.eventLoop`. The future says how it ended (never fails).
    /// `snapshot`'s filters see the fetched response whole (``Filter/originBody(_:head:)``) before it is stored,
    /// as they would a client's.
    static func run(
        fill: Fill, stale: CachedObject?, route: SiteRoute, requestHeaders: HTTPHeaders, pool: UpstreamPool,
        cache: EdgeCache, snapshot: ProxySnapshot?
    ) -> EventLoopFuture<FillResult> {
        let store = cache.store
        let key = fill.key
        var headers = HeaderBlock()
        _ = headers.add(name: "host", value: key.host.isEmpty ? route.origins.first?.address.authority ?? "localhost" : key.host)
        headers.add(literalName: "user-agent", literalValue: "pnyx-cache-refresh")
        headers.add(literalName: "via", literalValue: "1.1 pnyx")
        for name in stale?.vary.values.map(\.name) ?? [] {
            for value in requestHeaders[name] { _ = headers.add(name: name, value: value) }
        }
        if let stale {
            if let etag = stale.etag { _ = headers.add(name: "if-none-match", value: etag) }
            if let lastModified = stale.lastModified { _ = headers.add(name: "if-modified-since", value: lastModified) }
        }
        let head = UpstreamRequestHead(method: .GET, uri: key.target, headers: headers)
        let requestTime = ProxyRuntime.wallMillis() / 1000
        let policy = route.cachePolicy
        let rule = policy.rules.isEmpty ? nil : policy.rule(for: key.target.split(separator: "?", maxSplits: 1).first ?? "")
        return OriginFetch.run(
            pool: pool, origin: route.pickOrigin(), head: head, connectTimeout: route.connectTimeout,
            responseTimeout: route.responseTimeout, maxBody: Int(store.maxObjectBytes)
        ).map { fetched -> FillResult in
            var fetched = fetched
            let now = ProxyRuntime.wallMillis() / 1000
            let status = Int(fetched.head.status.code)
            if status == 200, let snapshot, !collect(&fetched, key: key, route: route, snapshot: snapshot, now: now) {
                return .uncacheable  // a filter refused what the origin sent: nothing is stored
            }
            if status == 304, let stale {
                return stale.revalidated(
                    by: fetched.head.headers, requestHasAuthorization: false, rule: rule, policy: policy,
                    requestTime: requestTime, responseTime: now, maxObjectBytes: store.maxObjectBytes
                ).map { .stored($0) } ?? .uncacheable
            }
            if status >= 500 { return .failed(.serverError(status)) }
            switch StorePlan.decide(
                status: status, headers: fetched.head.headers, requestHasAuthorization: false, rule: rule, policy: policy,
                requestTime: requestTime, responseTime: now, maxObjectBytes: store.maxObjectBytes)
            {
            case .success(let plan):
                let vary = VaryKey(varyNames: plan.varyNames, requestValues: { requestHeaders[$0] })
                return .stored(
                    CachedObject(
                        key: key, vary: vary, status: status,
                        headers: plan.storedHeaders(fetched.head.headers, bodyLength: fetched.body.readableBytes),
                        body: fetched.body, facts: plan.facts, grace: plan.grace))
            case .failure:
                return .uncacheable
            }
        }.flatMapErrorThrowing { error -> FillResult in
            if case UpstreamFailure.timeout = error { return .failed(.timeout) }
            return .failed(.unreachable)
        }.map { result in
            cache.complete(fill, with: result, now: ProxyRuntime.wallMillis() / 1000)
            return result
        }
    }
}

extension BackgroundRefresh {
    /// Lets the snapshot's filters judge (and change) a response Pnyx fetched itself, as for a client request.
    /// Returns false when a filter refused it.
    static func collect(_ fetched: inout FetchedResponse, key: CacheKey, route: SiteRoute, snapshot: ProxySnapshot, now: Int64) -> Bool {
        let chain = snapshot.chain
        guard chain.collectsOriginBodies else { return true }
        var headers = HTTPHeaders()
        headers.add(name: "host", value: key.host)
        let context = RequestContext(
            id: RequestID(UInt64.random(in: 0...UInt64.max)), site: route.site,
            client: ClientIdentity(address: nil, peer: nil, peerIsTrustedProxy: false),
            head: HTTPRequestHead(version: .http1_1, method: .GET, uri: key.target, headers: headers), scheme: "https",
            host: key.host, start: .now(), startWallMillis: now * 1000, events: snapshot.events)
        guard let collector = chain.originBody(context, head: fetched.head) else { return true }
        if case .continue = collector.judge(context, head: &fetched.head, body: &fetched.body) { return true }
        return false
    }
}

extension ProxyHandler {
    /// Starts the one background refresh of a stale-while-revalidate hit.
    func startRefresh(_ fill: Fill, stale: CachedObject, exchange: Exchange) {
        guard let pool else {
            runtime.cache.complete(fill, with: .abandoned, now: ProxyRuntime.wallMillis() / 1000)
            return
        }
        _ = BackgroundRefresh.run(
            fill: fill, stale: stale, route: exchange.route, requestHeaders: exchange.head.headers, pool: pool,
            cache: runtime.cache, snapshot: exchange.snapshot)
    }
}
