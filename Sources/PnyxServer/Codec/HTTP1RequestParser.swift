import NIOCore
import NIOHTTP1

/// A strict, incremental HTTP/1.1 request parser (RFC 9112) for the client side.
///
/// Strictness is the defence against request smuggling: anything a lenient parser might read differently from
/// the origin is refused with 400 instead of guessed at: obsolete line folding, bare LF, control characters,
/// `Transfer-Encoding` other than a final `chunked`, `Content-Length` together with `Transfer-Encoding`,
/// repeated or non-numeric `Content-Length`. Bodies are handed on as slices of the read buffer.
struct HTTP1RequestParser {
    enum Event {
        case head(HTTPRequestHead)
        case body(ByteBuffer)
        case end
    }

    enum ParseError: Error, Equatable {
        /// 400: the request is not well-formed HTTP/1.1.
        case badRequest(String)
        /// 431: the head is larger than allowed.
        case headerTooLarge
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunked
    }

    let maxHeadBytes: Int
    static let maxHeaders = 128
    private var state: State = .head
    private var chunks = ChunkedBodyDecoder()
    private var pending = ByteBuffer()

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Consumes bytes, appending the events they complete to `events`.
    mutating func feed(_ input: ByteBuffer, into events: inout [Event]) throws(ParseError) {
        try feed(input) { events.append($0) }
    }

    /// Consumes bytes, handing each event they complete to `deliver` as soon as it is parsed (no list to fill and
    /// empty on every read). `deliver` must not use this parser.
    mutating func feed(_ input: ByteBuffer, each deliver: (Event) -> Void) throws(ParseError) {
        var buffer = ByteBuffer.resuming(&pending, with: input)
        while buffer.readableBytes > 0 {
            switch state {
            case .head:
                // Tolerate CRLFs between requests (RFC 9112 §2.2).
                while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                    buffer.moveReaderIndex(forwardBy: 2)
                }
                if buffer.readableBytes == 0 { return }
                guard let headLength = HTTP1ResponseParser.headLength(buffer) else {
                    if buffer.readableBytes > maxHeadBytes { throw .headerTooLarge }
                    try Self.checkPartialHead(buffer)
                    pending = buffer
                    return
                }
                guard headLength <= maxHeadBytes + 4 else { throw .headerTooLarge }
                let (head, framing) = try Self.parseHead(buffer.readSlice(length: headLength)!)
                deliver(.head(head))
                switch framing {
                case .none:
                    deliver(.end)
                case .length(let n):
                    state = .fixed(remaining: n)
                case .chunked:
                    chunks = ChunkedBodyDecoder()
                    state = .chunked
                }
            case .fixed(let remaining):
                let n = min(remaining, buffer.readableBytes)
                deliver(.body(buffer.readSlice(length: n)!))
                if n == remaining {
                    state = .head
                    deliver(.end)
                } else {
                    state = .fixed(remaining: remaining - n)
                }
            case .chunked:
                let step: ChunkedBodyDecoder.Step
                do {
                    step = try chunks.next(&buffer, maxTrailerBytes: maxHeadBytes)
                } catch {
                    throw error.tooLarge ? .headerTooLarge : .badRequest(error.reason)
                }
                switch step {
                case .data(let data):
                    deliver(.body(data))
                case .end:
                    state = .head
                    deliver(.end)
                case .needMore:
                    pending = buffer
                    return
                }
            }
        }
    }

    enum Framing {
        case none
        case length(Int)
        case chunked
    }

    /// A bare LF or a NUL in a head that is still arriving is refused at once.
    static func checkPartialHead(_ buffer: ByteBuffer) throws(ParseError) {
        let bad = buffer.withUnsafeReadableBytes { raw -> Bool in
            var previous: UInt8 = 0
            for byte in raw {
                if byte == 10 && previous != 13 { return true }
                if byte == 0 { return true }
                previous = byte
            }
            return false
        }
        if bad { throw .badRequest("bare LF or NUL") }
    }

    static func parseHead(_ head: ByteBuffer) throws(ParseError) -> (HTTPRequestHead, Framing) {
        let result: Result<(HTTPRequestHead, Framing), ParseError> = head.withUnsafeReadableBytes { raw in
            do throws(ParseError) {
                return .success(try parseHead(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func parseHead(_ raw: UnsafeRawBufferPointer) throws(ParseError) -> (HTTPRequestHead, Framing) {
        let count = raw.count - 2  // without the CRLF that ends the head
        // Request line: method SP target SP HTTP/1.x CRLF
        var i = 0
        while i < count && HTTP1ResponseParser.isTokenByte(raw[i]) { i += 1 }
        guard i > 0, i < count, raw[i] == 32 else { throw .badRequest("bad method") }
        let methodEnd = i
        i += 1
        let targetStart = i
        while i < count && raw[i] > 32 && raw[i] < 127 { i += 1 }
        guard i > targetStart, i < count, raw[i] == 32 else { throw .badRequest("bad request target") }
        let targetEnd = i
        i += 1
        guard i + 10 <= count + 2, raw[i] == 72, raw[i + 1] == 84, raw[i + 2] == 84, raw[i + 3] == 80, raw[i + 4] == 47,
            raw[i + 5] == 49, raw[i + 6] == 46, raw[i + 8] == 13, raw[i + 9] == 10
        else { throw .badRequest("bad HTTP version") }
        let minor = Int(raw[i + 7]) - 48
        guard minor == 0 || minor == 1 else { throw .badRequest("unsupported HTTP version") }
        i += 10

        var headers: [(String, String)] = []
        headers.reserveCapacity(16)
        var contentLength: Int?
        var transferEncoding: [Substring] = []
        while i < count {
            guard raw[i] != 32 && raw[i] != 9 else { throw .badRequest("obsolete line folding") }
            var end = i
            while end < count && raw[end] != 13 {
                if raw[end] == 10 { throw .badRequest("bare LF") }
                end += 1
            }
            guard end + 1 < raw.count, raw[end + 1] == 10 else { throw .badRequest("bare CR") }
            var colon = i
            while colon < end && raw[colon] != 58 {
                guard HTTP1ResponseParser.isTokenByte(raw[colon]) else { throw .badRequest("bad header name") }
                colon += 1
            }
            guard colon < end, colon > i else { throw .badRequest("bad header line") }
            var valueStart = colon + 1
            while valueStart < end && (raw[valueStart] == 32 || raw[valueStart] == 9) { valueStart += 1 }
            var valueEnd = end
            while valueEnd > valueStart && (raw[valueEnd - 1] == 32 || raw[valueEnd - 1] == 9) { valueEnd -= 1 }
            for j in valueStart..<valueEnd {
                let b = raw[j]
                if (b < 32 && b != 9) || b == 127 { throw .badRequest("control character in header value") }
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<colon]), as: UTF8.self)
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueEnd]), as: UTF8.self)
            switch ForwardingHeaders.kind(of: name) {
            case .contentLength:
                guard contentLength == nil else { throw .badRequest("repeated Content-Length") }
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let n = Int(value)
                else { throw .badRequest("bad Content-Length") }
                contentLength = n
            case .transferEncoding:
                for coding in value.split(separator: ",") { transferEncoding.append(coding.trimmingSpaces()) }
            default:
                break
            }
            headers.append((name, value))
            guard headers.count <= maxHeaders else { throw .headerTooLarge }
            i = end + 2
        }

        let framing: Framing
        if !transferEncoding.isEmpty {
            guard contentLength == nil else { throw .badRequest("both Content-Length and Transfer-Encoding") }
            guard minor == 1, transferEncoding.count == 1,
                ForwardingHeaders.equalsIgnoringCase(transferEncoding[0], "chunked")
            else { throw .badRequest("unsupported Transfer-Encoding") }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            framing = .length(contentLength)
        } else {
            framing = .none
        }
        let method = Self.method(UnsafeRawBufferPointer(rebasing: raw[0..<methodEnd]))
        let uri = String(decoding: UnsafeRawBufferPointer(rebasing: raw[targetStart..<targetEnd]), as: UTF8.self)
        let head = HTTPRequestHead(
            version: HTTPVersion(major: 1, minor: minor), method: method, uri: uri, headers: HTTPHeaders(headers))
        return (head, framing)
    }

    /// The common methods without making a `String` first.
    @inline(__always)
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3 where bytes[0] == 71 && bytes[1] == 69 && bytes[2] == 84: return .GET
        case 4 where bytes[0] == 80 && bytes[1] == 79 && bytes[2] == 83 && bytes[3] == 84: return .POST
        case 4 where bytes[0] == 72 && bytes[1] == 69 && bytes[2] == 65 && bytes[3] == 68: return .HEAD
        default: return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }
}
