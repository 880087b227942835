import NIOCore
import NIOHTTP1
import PnyxCore

/// One request/response exchange on a client connection or HTTP/2 stream.
final class Exchange {
    enum Phase {
        /// Waiting for an upstream connection; body parts are buffered (reads are paused, so at most one read).
        case connecting
        /// Streaming between client and origin.
        case forwarding
        /// Pnyx answered itself; nothing goes upstream.
        case local
    }

    let context: RequestContext
    let snapshot: ProxySnapshot
    let route: SiteRoute
    let origin: ResolvedOrigin?
    var upstreamHead: HTTPRequestHead
    var phase: Phase = .connecting
    var upstream: UpstreamConnection?
    var buffered: [HTTPClientRequestPart] = []
    var requestEnded = false
    var responseStarted = false
    var bodyBytes = 0
    /// Whether the client connection stays open after this response.
    var keepAlive: Bool
    /// A request with no body on an idempotent method can be sent again once if a reused connection was stale.
    let retryable: Bool
    var retried = false

    init(
        context: RequestContext, snapshot: ProxySnapshot, route: SiteRoute, origin: ResolvedOrigin?,
        upstreamHead: HTTPRequestHead, keepAlive: Bool, retryable: Bool
    ) {
        self.context = context
        self.snapshot = snapshot
        self.route = route
        self.origin = origin
        self.upstreamHead = upstreamHead
        self.keepAlive = keepAlive
        self.retryable = retryable
    }
}
