import NIOCore
import NIOHTTP1
import PnyxCache
import PnyxCore

/// One request/response exchange on a client connection or HTTP/2 stream: the request's context the filters see,
/// extended with what the proxy keeps for it (one object per request).
final class Exchange: RequestContext {
    enum Phase {
        /// Waiting for an upstream connection; body parts are buffered (reads are paused, so at most one read).
        case connecting
        /// Streaming between client and origin.
        case forwarding
        /// Pnyx answered itself; nothing goes upstream.
        case local
        /// Waiting for another request's fetch of the same cache key.
        case waiting
        /// The body is held back (in ``held``) until the `inspectBody` filters have seen all of it.
        case holding
    }

    let snapshot: ProxySnapshot
    let route: SiteRoute
    /// The origin picked for this request (``RequestContext/origin`` is set once a connection to it is attached).
    let resolvedOrigin: ResolvedOrigin?
    /// What is sent to the origin, once the request-head filters let the request through.
    var upstreamHead: UpstreamRequestHead?
    /// The request body goes to the origin with chunked framing.
    var upstreamChunked = false
    var phase: Phase = .connecting
    var upstream: UpstreamConnection?
    /// Body chunks that arrived before the upstream connection was ready.
    var buffered: [ByteBuffer] = []
    /// The body held for inspection (phase `.holding`).
    var held = ByteBuffer()
    /// `100 Continue` was already sent to the client (to get a held body).
    var continueSent = false
    /// How the response body is framed to an HTTP/1 client.
    var framing: ResponseFraming = .raw
    var requestEnded = false
    var responseStarted = false
    /// The last part of the response has been handed to the client channel.
    var responseEnded = false
    var bodyBytes = 0
    /// Whether the client connection stays open after this response.
    var keepAlive: Bool
    /// A request with no body on an idempotent method can be sent again once if a reused connection was stale.
    let retryable: Bool
    var retried = false
    /// The cache's part, when the response may be stored or a stored copy may stand in.
    var cache: CacheExchange?
    /// A filter reads the request body instead of the origin (``Verdict/consume(_:)``).
    var consumer: (any RequestBodyConsumer)?
    /// Rewrites the response body on its way to the client (``ResponseRewriter``).
    var rewriter: (any ResponseRewriter)?
    /// The origin's response being gathered whole for a filter (see ``ResponseCollector``).
    var collecting: OriginCollection?

    init(
        id: RequestID, site: Site, client: ClientIdentity, head: HTTPRequestHead, scheme: String, host: String,
        start: NIODeadline, startWallMillis: Int64, events: any EventSink,
        snapshot: ProxySnapshot, route: SiteRoute, origin: ResolvedOrigin?, keepAlive: Bool, retryable: Bool
    ) {
        self.snapshot = snapshot
        self.route = route
        self.resolvedOrigin = origin
        self.keepAlive = keepAlive
        self.retryable = retryable
        super.init(
            id: id, site: site, client: client, head: head, scheme: scheme, host: host, start: start,
            startWallMillis: startWallMillis, events: events)
    }
}

/// The cache's part of an exchange that goes to the origin.
final class CacheExchange {
    let key: CacheKey
    let rule: CacheRule?
    /// The fetch this exchange leads (others wait for it); nil for a pass.
    var fill: Fill?
    /// The stored copy: revalidated with its validators, served if the origin fails.
    var stale: CachedObject?
    /// Set once the origin's head says the response will be stored.
    var plan: StorePlan?
    var status = 0
    var headers = HeaderBlock()
    var body: ByteBuffer?
    /// Seconds since the epoch when the request was sent.
    let requestTime: Int64
    var waitTimer: Scheduled<Void>?
    /// A stored copy to serve once the origin's response (a 304) has ended.
    var serveAfterEnd: CachedObject?

    init(key: CacheKey, rule: CacheRule?, fill: Fill?, stale: CachedObject?, requestTime: Int64) {
        self.key = key
        self.rule = rule
        self.fill = fill
        self.stale = stale
        self.requestTime = requestTime
    }
}

/// How a response body is written to an HTTP/1 client.
enum ResponseFraming {
    /// No body (HEAD, 204, 304).
    case none
    /// Body bytes as they are (a Content-Length is set, or the connection closes at the end).
    case raw
    /// Chunked transfer coding (no length known, HTTP/1.1 client).
    case chunked
}

/// An origin response held back until its body is complete (integrity: pinned and signed paths).
final class OriginCollection {
    let collector: any ResponseCollector
    let head: ResponseHead
    var body = ByteBuffer()

    init(collector: any ResponseCollector, head: ResponseHead) {
        self.collector = collector
        self.head = head
    }
}
