import NIOCore
import NIOHTTP1

/// The filters of one configuration snapshot, in order. Built once, then read-only.
public struct FilterChain: Sendable {
    public let filters: [any Filter]

    public init(_ filters: [any Filter]) {
        self.filters = filters
    }

    @inlinable
    public func connection(_ connection: ConnectionInfo) -> (Verdict, FilterName?) {
        for filter in filters {
            let verdict = filter.connection(connection)
            if case .continue = verdict { continue }
            return (verdict, filter.name)
        }
        return (.continue, nil)
    }

    @inlinable
    public func requestHead(_ context: RequestContext) -> Verdict {
        for filter in filters {
            let verdict = filter.requestHead(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict {
        for filter in filters {
            let verdict = filter.requestBody(context, chunk: chunk, totalBytes: totalBytes)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func cache(_ context: RequestContext) -> Verdict {
        for filter in filters {
            let verdict = filter.cache(context)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func upstream(_ context: RequestContext, head: inout HTTPRequestHead) {
        for filter in filters { filter.upstream(context, head: &head) }
    }

    @inlinable
    public func upstreamResponse(_ context: RequestContext, head: inout HTTPResponseHead) -> Verdict {
        for filter in filters {
            let verdict = filter.upstreamResponse(context, head: &head)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    @inlinable
    public func response(_ context: RequestContext, head: inout HTTPResponseHead) {
        for filter in filters { filter.response(context, head: &head) }
    }

    @inlinable
    public func complete(_ context: RequestContext) {
        for filter in filters { filter.complete(context) }
    }
}
