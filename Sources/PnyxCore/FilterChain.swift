import NIOCore
import NIOHTTP1

/// The filters of one configuration snapshot, in order. Built once, then read-only: for each phase, the list of
/// filters that implement it, so a request only calls the filters that have something to do.
///
/// The loops index the arrays rather than iterate them, and call each filter in place: an iterator over
/// `[any Filter]` made the runtime look up its generic metadata on every phase of every request, and a copy of
/// the element retains every reference a filter holds.
public final class FilterChain: Sendable {
    public let filters: [any Filter]
    @usableFromInline let connectionFilters: [any Filter]
    @usableFromInline let requestHeadFilters: [any Filter]
    @usableFromInline let requestBodyFilters: [any Filter]
    @usableFromInline let inspectBodyFilters: [any Filter]
    @usableFromInline let cacheFilters: [any Filter]
    @usableFromInline let upstreamFilters: [any Filter]
    @usableFromInline let upstreamResponseFilters: [any Filter]
    @usableFromInline let originBodyFilters: [any Filter]
    @usableFromInline let rewriteFilters: [any Filter]
    @usableFromInline let responseFilters: [any Filter]
    @usableFromInline let completeFilters: [any Filter]

    public init(_ filters: [any Filter]) {
        self.filters = filters
        connectionFilters = filters.filter { $0.phases.contains(.connection) }
        requestHeadFilters = filters.filter { $0.phases.contains(.requestHead) }
        requestBodyFilters = filters.filter { $0.phases.contains(.requestBody) }
        inspectBodyFilters = filters.filter { $0.phases.contains(.inspectBody) }
        cacheFilters = filters.filter { $0.phases.contains(.cache) }
        upstreamFilters = filters.filter { $0.phases.contains(.upstream) }
        upstreamResponseFilters = filters.filter { $0.phases.contains(.upstreamResponse) }
        originBodyFilters = filters.filter { $0.phases.contains(.originBody) }
        rewriteFilters = filters.filter { $0.phases.contains(.rewrite) }
        responseFilters = filters.filter { $0.phases.contains(.response) }
        completeFilters = filters.filter { $0.phases.contains(.complete) }
    }

    @inlinable
    public func connection(_ connection: ConnectionInfo) -> (Verdict, FilterName?) {
        for i in connectionFilters.indices {
            let verdict = connectionFilters[i].connection(connection)
            if case .continue = verdict { continue }
            return (verdict, connectionFilters[i].name)
        }
        return (.continue, nil)
    }

    @inlinable
    public func requestHead(_ context: RequestContext) -> Verdict {
        for i in requestHeadFilters.indices {
            let verdict = requestHeadFilters[i].requestHead(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict {
        for i in requestBodyFilters.indices {
            let verdict = requestBodyFilters[i].requestBody(context, chunk: chunk, totalBytes: totalBytes)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func inspectBody(_ context: RequestContext, body: ByteBuffer) -> Verdict {
        for i in inspectBodyFilters.indices {
            let verdict = inspectBodyFilters[i].inspectBody(context, body: body)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func cache(_ context: RequestContext) -> Verdict {
        for i in cacheFilters.indices {
            let verdict = cacheFilters[i].cache(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func upstream(_ context: RequestContext, head: inout UpstreamRequestHead) {
        for i in upstreamFilters.indices { upstreamFilters[i].upstream(context, head: &head) }
    }

    @inlinable
    public func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict {
        for i in upstreamResponseFilters.indices {
            let verdict = upstreamResponseFilters[i].upstreamResponse(context, head: &head)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    /// Whether any filter may collect origin bodies (most chains: none, and the phase costs nothing).
    @inlinable
    public var collectsOriginBodies: Bool { !originBodyFilters.isEmpty }

    /// Every filter that wants the body gathered gets it. A response travels back through the filters from the
    /// origin's side, so the last filter's collector sees the origin's bytes first (integrity compares and signs
    /// what the origin sent before the WAF, earlier in the chain, judges what is about to be served).
    public func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? {
        var collectors: [any ResponseCollector] = []
        for i in originBodyFilters.indices.reversed() {
            if let collector = originBodyFilters[i].originBody(context, head: head) { collectors.append(collector) }
        }
        if collectors.count <= 1 { return collectors.first }
        return CollectorChain(collectors)
    }

    @inlinable
    public func rewriteResponse(_ context: RequestContext, head: inout ResponseHead) -> (any ResponseRewriter)? {
        for i in rewriteFilters.indices {
            if let rewriter = rewriteFilters[i].rewriteResponse(context, head: &head) { return rewriter }
        }
        return nil
    }

    @inlinable
    public func response(_ context: RequestContext, head: inout ResponseHead) {
        for i in responseFilters.indices { responseFilters[i].response(context, head: &head) }
    }

    @inlinable
    public func complete(_ context: RequestContext) {
        for i in completeFilters.indices { completeFilters[i].complete(context) }
    }
}

/// Several filters' collectors over one gathered body, in order: each may change the head and body the next sees,
/// and the first refusal ends it. The body is gathered up to the largest limit; a collector whose own limit it
/// exceeds is told it overflowed.
final class CollectorChain: ResponseCollector {
    let collectors: [any ResponseCollector]
    let limit: Int

    init(_ collectors: [any ResponseCollector]) {
        self.collectors = collectors
        self.limit = collectors.map(\.limit).max() ?? 0
    }

    func finish(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict {
        for collector in collectors {
            let verdict = collector.judge(context, head: &head, body: &body)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    func overflowed(_ context: RequestContext, head: ResponseHead) {
        for collector in collectors { collector.overflowed(context, head: head) }
    }
}
