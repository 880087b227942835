import NIOCore
import NIOHTTP1
import PnyxCore

/// Writes HTTP/1.1 heads and chunk framing straight into `ByteBuffer`s: the proxy already holds validated
/// field lines as bytes (`HeaderBlock`), so a head is a request or status line plus one copy.
enum HTTP1Serializer {
    static func requestHead(_ head: UpstreamRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: requestHeadSize(head))
        writeRequestHead(head, into: &buffer)
        return buffer
    }

    static func requestHeadSize(_ head: UpstreamRequestHead) -> Int {
        32 + head.uri.utf8.count + head.headers.bytes.readableBytes
    }

    static func writeRequestHead(_ head: UpstreamRequestHead, into buffer: inout ByteBuffer) {
        writeMethod(head.method, into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        buffer.writeImmutableBuffer(head.headers.bytes)
        buffer.writeCRLF()
    }

    @inline(__always)
    static func writeMethod(_ method: HTTPMethod, into buffer: inout ByteBuffer) {
        switch method {
        case .GET: buffer.writeStaticString("GET")
        case .HEAD: buffer.writeStaticString("HEAD")
        case .POST: buffer.writeStaticString("POST")
        case .PUT: buffer.writeStaticString("PUT")
        case .DELETE: buffer.writeStaticString("DELETE")
        case .OPTIONS: buffer.writeStaticString("OPTIONS")
        case .PATCH: buffer.writeStaticString("PATCH")
        default: buffer.writeString(method.rawValue)
        }
    }

    /// - Parameter extra: room to reserve after the head (a small body gathered into the same buffer).
    static func responseHead(_ head: ResponseHead, allocator: ByteBufferAllocator, extra: Int = 0) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: responseHeadSize(head) + extra)
        writeResponseHead(head, into: &buffer)
        return buffer
    }

    static func responseHeadSize(_ head: ResponseHead) -> Int {
        32 + head.status.reasonPhrase.utf8.count + head.headers.bytes.readableBytes
    }

    static func writeResponseHead(_ head: ResponseHead, into buffer: inout ByteBuffer) {
        writeStatusLine(version: head.version, status: head.status, into: &buffer)
        buffer.writeImmutableBuffer(head.headers.bytes)
        buffer.writeCRLF()
    }

    @inline(__always)
    static func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let code = Int(status.code)
        buffer.writeInteger(UInt8(48 + code / 100))
        buffer.writeInteger(UInt8(48 + code / 10 % 10))
        buffer.writeInteger(UInt8(48 + code % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        if code == 200 {
            buffer.writeStaticString("OK")
        } else {
            buffer.writeString(status.reasonPhrase)
        }
        buffer.writeCRLF()
    }

    /// `size CRLF` before a chunk.
    static func chunkHeader(_ size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 20)
        buffer.writeString(String(size, radix: 16))
        buffer.writeCRLF()
        return buffer
    }

    static let crlf = ByteBuffer(staticString: "\r\n")
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
    static let continueResponse = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
}
