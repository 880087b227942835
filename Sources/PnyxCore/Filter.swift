import NIOCore
import NIOHTTP1

/// A stop on the data path. Every phase has a do-nothing default, so a filter implements only the phases it needs.
///
/// Filters are built once per configuration snapshot and are then read-only: every phase method is called on
/// the event loop that owns the request, must not block, and must not touch shared mutable state without
/// atomics or per-event-loop sharding. Per-request state lives in the ``RequestContext``.
public protocol Filter: AnyObject, Sendable {
    /// Name used in events, logs and metrics.
    var name: FilterName { get }
    /// The phases this filter implements; the chain skips it in the others. Defaults to all.
    var phases: PhaseSet { get }

    /// A connection was accepted. `client` is the TCP peer (before any trusted-proxy header is read).
    func connection(_ connection: ConnectionInfo) -> Verdict
    /// The request head is parsed and its site resolved.
    func requestHead(_ context: RequestContext) -> Verdict
    /// A chunk of request body arrived. `totalBytes` counts all body bytes so far including this chunk.
    func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict
    /// The whole request body, held back from the origin until every filter here has seen it. Only requests a
    /// filter asked to hold in `requestHead` (``RequestContext/holdBody(limit:rejectLarger:)``) get here.
    func inspectBody(_ context: RequestContext, body: ByteBuffer) -> Verdict
    /// Before the origin is asked: a filter may answer from cache with `.respond`.
    func cache(_ context: RequestContext) -> Verdict
    /// The head about to be sent to the origin; filters may rewrite it.
    func upstream(_ context: RequestContext, head: inout UpstreamRequestHead)
    /// The origin's response head arrived.
    func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict
    /// The origin's response head arrived and the filter may want the whole body before anything is sent: it
    /// returns a collector (see ``ResponseCollector``). The first filter that returns one gets the body.
    func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)?
    /// A response on its way to the client (from the origin or the cache, after the cache stored the original):
    /// a filter may return a rewriter for its body, and change the head to match. The first one wins.
    func rewriteResponse(_ context: RequestContext, head: inout ResponseHead) -> (any ResponseRewriter)?
    /// The response head about to be sent to the client (origin or local).
    func response(_ context: RequestContext, head: inout ResponseHead)
    /// The exchange is over, successfully or not.
    func complete(_ context: RequestContext)
}

extension Filter {
    public var phases: PhaseSet { .all }
    public func connection(_ connection: ConnectionInfo) -> Verdict { .continue }
    public func requestHead(_ context: RequestContext) -> Verdict { .continue }
    public func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict { .continue }
    public func inspectBody(_ context: RequestContext, body: ByteBuffer) -> Verdict { .continue }
    public func cache(_ context: RequestContext) -> Verdict { .continue }
    public func upstream(_ context: RequestContext, head: inout UpstreamRequestHead) {}
    public func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict { .continue }
    public func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? { nil }
    public func rewriteResponse(_ context: RequestContext, head: inout ResponseHead) -> (any ResponseRewriter)? { nil }
    public func response(_ context: RequestContext, head: inout ResponseHead) {}
    public func complete(_ context: RequestContext) {}
}

/// Facts about an accepted connection, for the `connection` phase.
public struct ConnectionInfo: Sendable {
    public var peer: IPAddress?
    public var isTLS: Bool
    public init(peer: IPAddress?, isTLS: Bool) {
        self.peer = peer
        self.isTLS = isTLS
    }
}

/// Gathers an origin response's body (up to ``limit`` bytes) so a filter can judge or change it before the client
/// sees any of it, and before the cache stores it: what the filter returns is what is served and stored.
/// One instance per response, used on the request's event loop only.
public protocol ResponseCollector: AnyObject {
    /// The most bytes gathered. A longer body is sent on unchanged (``overflowed(_:)`` is told).
    var limit: Int { get }
    /// The whole body arrived: the collector may change the head and the body (`.continue`: serve them), or refuse
    /// the response with a verdict the proxy answers as in any other phase (nothing the origin sent is served).
    func finish(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict
    /// The body was longer than ``limit``: it streams on unchanged.
    func overflowed(_ context: RequestContext, head: ResponseHead)
}

extension ResponseCollector {
    /// A gathered body of any length: finished if it is within ``limit``, else reported as overflowed (and served).
    public func judge(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict {
        guard body.readableBytes <= limit else {
            overflowed(context, head: head)
            return .continue
        }
        return finish(context, head: &head, body: &body)
    }
}

/// Rewrites a response body as it streams to the client, holding back at most a bounded amount (an incomplete
/// tag). One instance per response, on the request's event loop.
public protocol ResponseRewriter: AnyObject {
    func rewrite(_ chunk: ByteBuffer) -> ByteBuffer
    /// The body ended: whatever was held back.
    func finish() -> ByteBuffer
}
