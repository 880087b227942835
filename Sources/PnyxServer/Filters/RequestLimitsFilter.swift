import NIOCore
import NIOHTTP1
import PnyxCore

/// Refuses request bodies larger than the site allows: at once from `Content-Length`, or as soon as a streamed
/// (chunked) body goes past the limit. Nothing beyond the limit reaches the origin. Refuses requests with more
/// cookies than the site allows, or more header fields than the HTTP/1 parser takes (431), before any protection
/// spends time on each of them.
public final class RequestLimitsFilter: Filter {
    public let name: FilterName = "limits"
    public var phases: PhaseSet { [.requestHead, .requestBody] }
    public init() {}

    public func requestHead(_ context: RequestContext) -> Verdict {
        let limits = context.site.configuration.limits
        let headers = context.head.headers
        if let text = headers.first(name: "content-length"), let length = Int64(text), length > limits.maxBodyBytes {
            return .block(tooLarge(limit: limits.maxBodyBytes, evidence: "content-length=\(length)"))
        }
        // HTTP/1 heads with more fields were refused by the parser; an HTTP/2 header list of 32 KiB could hold a
        // thousand (the WAF runs its rules on each).
        if headers.count > HTTP1RequestParser.maxHeaders {
            return .block(Block(
                status: .requestHeaderFieldsTooLarge, filter: name, rule: "max_header_fields",
                message: "The request has more header fields than this site accepts (\(HTTP1RequestParser.maxHeaders)).",
                evidence: "header fields=\(headers.count)"))
        }
        if headers.contains(name: "cookie") {
            let count = Self.cookieCount(headers)
            if count > limits.maxCookies {
                return .block(Block(
                    status: .requestHeaderFieldsTooLarge, filter: name, rule: "max_cookies",
                    message: "Your browser sent more cookies than this site accepts (\(limits.maxCookies)). Clearing this site's cookies in your browser will fix it.",
                    evidence: "cookies=\(count)"))
            }
        }
        return .continue
    }

    /// Cookies in every `Cookie` field (HTTP/2 may split them into several): the `;`-separated pieces that are not
    /// blank (what the WAF makes a cookie of), counted without making a string of any of them.
    static func cookieCount(_ headers: HTTPHeaders) -> Int {
        var count = 0
        for header in headers where header.name.utf8.count == 6 && header.name.lowercased() == "cookie" {
            var pieceHasContent = false
            for byte in header.value.utf8 {
                if byte == UInt8(ascii: ";") {
                    if pieceHasContent { count += 1 }
                    pieceHasContent = false
                } else if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                    pieceHasContent = true
                }
            }
            if pieceHasContent { count += 1 }
        }
        return count
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
