import NIOCore
import NIOHTTP1

/// The filters of one configuration snapshot, in order. Built once, then read-only: for each phase, the list of
/// filters that implement it, so a request only calls the filters that have something to do.
///
/// The loops index the arrays rather than iterate them: an iterator over `[any Filter]` made the runtime look up
/// its generic metadata on every phase of every request. The per-phase lists hold unowned references (``FilterRef``):
/// `filters` owns every filter for the chain's lifetime, so a call costs no reference counting.
public final class FilterChain: Sendable {
    public let filters: [any Filter]
    @usableFromInline let connectionFilters: [FilterRef]
    @usableFromInline let requestHeadFilters: [FilterRef]
    @usableFromInline let requestBodyFilters: [FilterRef]
    @usableFromInline let inspectBodyFilters: [FilterRef]
    @usableFromInline let cacheFilters: [FilterRef]
    @usableFromInline let upstreamFilters: [FilterRef]
    @usableFromInline let upstreamResponseFilters: [FilterRef]
    @usableFromInline let originBodyFilters: [FilterRef]
    @usableFromInline let rewriteFilters: [FilterRef]
    @usableFromInline let responseFilters: [FilterRef]
    @usableFromInline let completeFilters: [FilterRef]

    public init(_ filters: [any Filter]) {
        self.filters = filters
        connectionFilters = FilterRef.list(filters) { $0.phases.contains(.connection) }
        requestHeadFilters = FilterRef.list(filters) { $0.phases.contains(.requestHead) }
        requestBodyFilters = FilterRef.list(filters) { $0.phases.contains(.requestBody) }
        inspectBodyFilters = FilterRef.list(filters) { $0.phases.contains(.inspectBody) }
        cacheFilters = FilterRef.list(filters) { $0.phases.contains(.cache) }
        upstreamFilters = FilterRef.list(filters) { $0.phases.contains(.upstream) }
        upstreamResponseFilters = FilterRef.list(filters) { $0.phases.contains(.upstreamResponse) }
        originBodyFilters = FilterRef.list(filters) { $0.phases.contains(.originBody) }
        rewriteFilters = FilterRef.list(filters) { $0.phases.contains(.rewrite) }
        responseFilters = FilterRef.list(filters) { $0.phases.contains(.response) }
        completeFilters = FilterRef.list(filters) { $0.phases.contains(.complete) }
    }

    @inlinable
    public func connection(_ connection: ConnectionInfo) -> (Verdict, FilterName?) {
        for i in connectionFilters.indices {
            let verdict = connectionFilters[i].filter.connection(connection)
            if case .continue = verdict { continue }
            return (verdict, connectionFilters[i].filter.name)
        }
        return (.continue, nil)
    }

    @inlinable
    public func requestHead(_ context: RequestContext) -> Verdict {
        for i in requestHeadFilters.indices {
            let verdict = requestHeadFilters[i].filter.requestHead(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict {
        for i in requestBodyFilters.indices {
            let verdict = requestBodyFilters[i].filter.requestBody(context, chunk: chunk, totalBytes: totalBytes)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func inspectBody(_ context: RequestContext, body: ByteBuffer) -> Verdict {
        for i in inspectBodyFilters.indices {
            let verdict = inspectBodyFilters[i].filter.inspectBody(context, body: body)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func cache(_ context: RequestContext) -> Verdict {
        for i in cacheFilters.indices {
            let verdict = cacheFilters[i].filter.cache(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func upstream(_ context: RequestContext, head: inout UpstreamRequestHead) {
        for i in upstreamFilters.indices { upstreamFilters[i].filter.upstream(context, head: &head) }
    }

    @inlinable
    public func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict {
        for i in upstreamResponseFilters.indices {
            let verdict = upstreamResponseFilters[i].filter.upstreamResponse(context, head: &head)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    /// Whether any filter may collect origin bodies (most chains: none, and the phase costs nothing).
    @inlinable
    public var collectsOriginBodies: Bool { !originBodyFilters.isEmpty }

    @inlinable
    public func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? {
        for i in originBodyFilters.indices {
            if let collector = originBodyFilters[i].filter.originBody(context, head: head) { return collector }
        }
        return nil
    }

    @inlinable
    public func rewriteResponse(_ context: RequestContext, head: inout ResponseHead) -> (any ResponseRewriter)? {
        for i in rewriteFilters.indices {
            if let rewriter = rewriteFilters[i].filter.rewriteResponse(context, head: &head) { return rewriter }
        }
        return nil
    }

    @inlinable
    public func response(_ context: RequestContext, head: inout ResponseHead) {
        for i in responseFilters.indices { responseFilters[i].filter.response(context, head: &head) }
    }

    @inlinable
    public func complete(_ context: RequestContext) {
        for i in completeFilters.indices { completeFilters[i].filter.complete(context) }
    }
}

/// A filter in one of the chain's per-phase lists. The chain's `filters` array keeps every filter alive as long as
/// the chain, so these references need no counting (a counted reference cost a retain and a release per filter
/// per phase of every request).
@usableFromInline
struct FilterRef: Sendable {
    @usableFromInline unowned(unsafe) let filter: any Filter

    init(_ filter: any Filter) { self.filter = filter }

    static func list(_ filters: [any Filter], _ include: (any Filter) -> Bool) -> [FilterRef] {
        filters.filter(include).map(FilterRef.init)
    }
}
