import NIOCore
import NIOHTTP1
import PnyxCore

/// An incremental HTTP/1.1 response parser for the upstream side (RFC 9112). It parses the head once into a
/// `ResponseHead` for the filters (its fields stay bytes: one buffer, no `String` per field), and hands body bytes on as slices of the read buffer (no copies): raw for
/// `Content-Length` bodies, de-chunked for `Transfer-Encoding: chunked`.
///
/// Origins are the operator's own servers, but a confused or compromised one must not be able to confuse the
/// proxy: heads are bounded, framing follows RFC 9112 §6.3 strictly (invalid or conflicting lengths are errors,
/// a response with both `Transfer-Encoding` and `Content-Length` is never reused).
struct HTTP1ResponseParser {
    enum Event {
        case head(ResponseHead)
        case body(ByteBuffer)
        /// The response is complete; `reusable` says whether the connection can carry another request.
        case end(reusable: Bool)
    }

    struct ParseError: Error, CustomStringConvertible {
        let reason: String
        var description: String { "invalid upstream response: \(reason)" }
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunked
        case untilClose
        case done
    }

    static let maxHeadBytes = 64 * 1024

    private var state: State = .done
    private var chunks = ChunkedBodyDecoder()
    private var pending = ByteBuffer()
    /// The fields of each response head are written into the same memory (see ``RecycledBuffer``).
    private var fieldBuffer = RecycledBuffer()
    /// The response to the current request must have no body (HEAD).
    private var noBody = false
    /// Whether the connection may carry another request after this response.
    private(set) var reusable = true

    /// Hands back a parsed head's field buffer once it has been written, so the next head reuses its memory.
    mutating func recycle(_ fields: ByteBuffer) {
        fieldBuffer.keep(fields)
    }

    /// Prepares for the response to a new request.
    mutating func expectResponse(toHEAD isHEAD: Bool) {
        state = .head
        noBody = isHEAD
        reusable = true
        pending.clear()
    }

    /// Consumes bytes and returns the events they complete, in order. Bytes after the end of the response are an
    /// error (HTTP/1.1 pipelining is never used upstream).
    mutating func feed(_ input: ByteBuffer, into events: inout [Event]) throws {
        try feed(input) { events.append($0) }
    }

    private mutating func feed(_ input: ByteBuffer, _ emit: (Event) -> Void) throws {
        var buffer = ByteBuffer.resuming(&pending, with: input)
        while buffer.readableBytes > 0 {
            switch state {
            case .done:
                throw ParseError(reason: "bytes after the end of the response")
            case .head:
                guard let headLength = Self.headLength(buffer) else {
                    if buffer.readableBytes > Self.maxHeadBytes { throw ParseError(reason: "response head too large") }
                    pending = buffer
                    return
                }
                // Room for the fields the response filters add, so they do not reallocate.
                // Room for what the proxy adds (security headers, the report-only CSP, Pnyx-Cache) without growing.
                var fields = fieldBuffer.take(minimumCapacity: headLength + 1024)
                let (head, info) = try Self.parseHead(buffer.readSlice(length: headLength)!, into: &fields)
                if head.status.code >= 100 && head.status.code < 200 {
                    if head.status.code == 101 { throw ParseError(reason: "protocol upgrade is not supported") }
                    continue  // informational: wait for the final response
                }
                startBody(for: head, info)
                emit(.head(head))
                if case .done = state { emit(.end(reusable: reusable)) }
            case .fixed(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                if n == remaining {
                    state = .done
                    emit(.end(reusable: reusable))
                } else {
                    state = .fixed(remaining: remaining - n)
                }
            case .chunked:
                let step: ChunkedBodyDecoder.Step
                do {
                    step = try chunks.next(&buffer, maxTrailerBytes: Self.maxHeadBytes)
                } catch {
                    throw ParseError(reason: error.reason)
                }
                switch step {
                case .data(let data):
                    emit(.body(data))
                case .end:
                    state = .done
                    emit(.end(reusable: reusable))
                case .needMore:
                    pending = buffer
                    return
                }
            case .untilClose:
                emit(.body(buffer.readSlice(length: buffer.readableBytes)!))
            }
        }
    }

    /// The origin closed the connection. Ends a close-delimited body; anything else is a truncation.
    mutating func connectionClosed() -> Bool {
        if case .untilClose = state {
            state = .done
            return true
        }
        return false
    }

    /// What the head says about framing and the connection, gathered while parsing.
    struct HeadInfo {
        var contentLength: Int?
        var hasTransferEncoding = false
        var chunked = false
        var close = false
        var keepAlive = false
    }

    private mutating func startBody(for head: ResponseHead, _ info: HeadInfo) {
        if info.close || (head.version.minor == 0 && !info.keepAlive) { reusable = false }
        let code = head.status.code
        if noBody || code == 204 || code == 304 {
            state = .done
            return
        }
        if info.hasTransferEncoding {
            if info.contentLength != nil { reusable = false }
            if info.chunked {
                chunks = ChunkedBodyDecoder()
                state = .chunked
            } else {
                reusable = false
                state = .untilClose
            }
            return
        }
        if let contentLength = info.contentLength {
            state = contentLength == 0 ? .done : .fixed(remaining: contentLength)
            return
        }
        reusable = false
        state = .untilClose
    }

    // MARK: byte-level helpers

    /// Length of the head including the final CRLFCRLF, if complete.
    static func headLength(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            let count = raw.count
            guard count >= 4 else { return nil }
            var i = 0
            while i <= count - 4 {
                if raw[i + 3] == 10 {
                    if raw[i] == 13 && raw[i + 1] == 10 && raw[i + 2] == 13 { return i + 4 }
                    i += 1
                } else if raw[i + 3] == 13 {
                    i += 1
                } else {
                    i += 4
                }
            }
            return nil
        }
    }

    /// Length of the line before the next CRLF, if complete.
    static func lineLength(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 2 else { return nil }
            for i in 0..<(raw.count - 1) where raw[i] == 13 && raw[i + 1] == 10 { return i }
            return nil
        }
    }

    static func parseChunkSize(_ line: ByteBuffer) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line.readableBytesView {
            let value: Int
            switch byte {
            case 48...57: value = Int(byte) - 48
            case 65...70: value = Int(byte) - 55
            case 97...102: value = Int(byte) - 87
            case 59, 32, 9: // ';' extension, or whitespace before it
                guard digits > 0 else { throw ParseError(reason: "invalid chunk size") }
                return size
            default:
                throw ParseError(reason: "invalid chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw ParseError(reason: "chunk too large") }
            size = size << 4 | value
        }
        guard digits > 0 else { throw ParseError(reason: "invalid chunk size") }
        return size
    }

    /// Parses a complete head. Hop-by-hop headers (RFC 9110 §7.6.1) are consumed here, never added to the
    /// header list: `Connection` and `Transfer-Encoding` only inform framing and reuse.
    static func parseHead(_ head: ByteBuffer) throws -> (ResponseHead, HeadInfo) {
        var fields = ByteBufferAllocator().buffer(capacity: head.readableBytes)
        return try parseHead(head, into: &fields)
    }

    /// Parses a complete head, writing the kept field lines into `fields` (empty on entry).
    static func parseHead(_ head: ByteBuffer, into fields: inout ByteBuffer) throws -> (ResponseHead, HeadInfo) {
        try head.withUnsafeReadableBytes { raw -> (ResponseHead, HeadInfo) in
            let count = raw.count - 2  // drop the final CRLF of the empty line
            // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF
            guard count >= 14, raw[0] == 72, raw[1] == 84, raw[2] == 84, raw[3] == 80, raw[4] == 47, raw[5] == 49,
                raw[6] == 46, raw[8] == 32
            else { throw ParseError(reason: "bad status line") }
            let minor = Int(raw[7]) - 48
            guard minor == 0 || minor == 1 else { throw ParseError(reason: "unsupported HTTP version") }
            var code = 0
            for i in 9..<12 {
                guard raw[i] >= 48 && raw[i] <= 57 else { throw ParseError(reason: "bad status code") }
                code = code * 10 + Int(raw[i]) - 48
            }
            // The reason phrase is not passed on (RFC 9112 §4: it carries no meaning); the standard one is sent.
            var i = 12
            while i < count && raw[i] != 13 { i += 1 }
            i += 2
            var info = HeadInfo()
            var connectionNamed: [String] = []
            while i < count {
                var end = i
                while end < count && raw[end] != 13 { end += 1 }
                guard end + 1 < raw.count, raw[end + 1] == 10 else { throw ParseError(reason: "bare CR in head") }
                var colon = i
                while colon < end && raw[colon] != 58 { colon += 1 }
                guard colon < end, colon > i else { throw ParseError(reason: "bad header line") }
                for j in i..<colon where !isTokenByte(raw[j]) { throw ParseError(reason: "bad header name") }
                var valueStart = colon + 1
                while valueStart < end && (raw[valueStart] == 32 || raw[valueStart] == 9) { valueStart += 1 }
                var valueEnd = end
                while valueEnd > valueStart && (raw[valueEnd - 1] == 32 || raw[valueEnd - 1] == 9) { valueEnd -= 1 }
                for j in valueStart..<valueEnd where raw[j] == 0 || raw[j] == 10 || raw[j] == 13 {
                    throw ParseError(reason: "bad header value")
                }
                let name = UnsafeRawBufferPointer(rebasing: raw[i..<colon])
                let value = UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueEnd])
                let lineStart = i
                i = end + 2
                switch classify(name) {
                case .contentLength:
                    guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                        throw ParseError(reason: "invalid Content-Length")
                    }
                    let n = value.reduce(0) { $0 * 10 + Int($1 - 48) }
                    if let existing = info.contentLength, existing != n { throw ParseError(reason: "conflicting Content-Length") }
                    if info.contentLength != nil { continue }  // an identical repeat is dropped
                    info.contentLength = n
                case .transferEncoding:
                    info.hasTransferEncoding = true
                    var last = UnsafeRawBufferPointer(start: nil, count: 0)
                    forEachToken(value) { last = $0 }
                    info.chunked = matches(last, "chunked")
                    continue
                case .connection:
                    forEachToken(value) { token in
                        if matches(token, "close") {
                            info.close = true
                        } else if matches(token, "keep-alive") {
                            info.keepAlive = true
                        } else {
                            connectionNamed.append(String(decoding: token, as: UTF8.self))
                        }
                    }
                    continue
                case .hopByHop:
                    continue
                case .other:
                    break
                }
                if valueStart == colon + 2 && raw[colon + 1] == 32 && valueEnd == end {
                    // Already `name: value` CRLF (what origins send): one copy of the whole line.
                    fields.writeBytes(UnsafeRawBufferPointer(rebasing: raw[lineStart..<(end + 2)]))
                } else {
                    fields.writeBytes(name)
                    fields.writeColonSpace()
                    fields.writeBytes(value)
                    fields.writeCRLF()
                }
            }
            var block = HeaderBlock(validatedBytes: fields)
            for named in connectionNamed { block.remove(name: named) }
            let head = ResponseHead(
                version: HTTPVersion(major: 1, minor: minor),
                status: HTTPResponseStatus(statusCode: code), headers: block)
            return (head, info)
        }
    }

    enum HeaderClass { case contentLength, transferEncoding, connection, hopByHop, other }

    /// Calls `body` with each non-empty element of a comma-separated list, without surrounding whitespace.
    @inline(__always)
    static func forEachToken(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start < value.count {
            var end = start
            while end < value.count && value[end] != 44 { end += 1 }
            var a = start, b = end
            while a < b && (value[a] == 32 || value[a] == 9) { a += 1 }
            while b > a && (value[b - 1] == 32 || value[b - 1] == 9) { b -= 1 }
            if b > a { body(UnsafeRawBufferPointer(rebasing: value[a..<b])) }
            start = end + 1
        }
    }

    /// Classifies a header name by its bytes, case-insensitively, without making a String.
    @inline(__always)
    static func classify(_ name: UnsafeRawBufferPointer) -> HeaderClass {
        switch name.count {
        case 2: return matches(name, "te") ? .hopByHop : .other
        case 7: return matches(name, "trailer") || matches(name, "upgrade") ? .hopByHop : .other
        case 10:
            if matches(name, "connection") { return .connection }
            return matches(name, "keep-alive") ? .hopByHop : .other
        case 14: return matches(name, "content-length") ? .contentLength : .other
        case 16: return matches(name, "proxy-connection") ? .hopByHop : .other
        case 17: return matches(name, "transfer-encoding") ? .transferEncoding : .other
        case 18: return matches(name, "proxy-authenticate") ? .hopByHop : .other
        case 19: return matches(name, "proxy-authorization") ? .hopByHop : .other
        default: return .other
        }
    }

    /// `name` equals the lower-case ASCII `lower`, ignoring case.
    @inline(__always)
    static func matches(_ name: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard name.count == lower.utf8CodeUnitCount else { return false }
        let target = lower.utf8Start
        for k in 0..<name.count {
            let b = name[k]
            let l = b >= 65 && b <= 90 ? b | 0x20 : b
            if l != target[k] { return false }
        }
        return true
    }

    @inline(__always) static func isTokenByte(_ b: UInt8) -> Bool { HeaderBlock.isTokenByte(b) }
}
