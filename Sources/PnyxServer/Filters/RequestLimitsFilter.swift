import NIOCore
import NIOHTTP1
import PnyxCore

/// Refuses request bodies larger than the site allows: at once from `Content-Length`, or as soon as a streamed
/// (chunked) body goes past the limit. Nothing beyond the limit reaches the origin.
public final class RequestLimitsFilter: Filter {
    public let name: FilterName = "limits"
    public var phases: PhaseSet { [.requestHead, .requestBody] }
    public init() {}

    public func requestHead(_ context: RequestContext) -> Verdict {
        let limit = context.site.configuration.limits.maxBodyBytes
        if let text = context.head.headers.first(name: "content-length"), let length = Int64(text), length > limit {
            return .block(tooLarge(limit: limit, evidence: "content-length=\(length)"))
        }
        return .continue
    }

    public func requestBody(_ context: RequestContext, chunk: ByteBuffer, totalBytes: Int) -> Verdict {
        let limit = context.site.configuration.limits.maxBodyBytes
        if Int64(totalBytes) > limit {
            return .block(tooLarge(limit: limit, evidence: "body bytes>\(limit)"))
        }
        return .continue
    }

    private func tooLarge(limit: Int64, evidence: String) -> Block {
        Block(
            status: .payloadTooLarge, filter: name, rule: "max_body_bytes",
            message: "The request is larger than this site accepts (\(limit) bytes).", evidence: evidence,
            closeConnection: true)
    }
}
