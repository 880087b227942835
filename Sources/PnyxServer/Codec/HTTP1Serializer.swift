import NIOCore
import NIOHTTP1

/// Writes HTTP/1.1 heads and chunk framing straight into `ByteBuffer`s: the proxy already holds validated
/// header lists, so NIO's encoders (and their per-header validation) would only repeat work on the hot path.
enum HTTP1Serializer {
    static func requestHead(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32 + head.method.rawValue.utf8.count + head.uri.utf8.count + headersSize(head.headers))
        buffer.writeString(head.method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        writeHeaders(head.headers, into: &buffer)
        return buffer
    }

    /// - Parameter extra: room to reserve after the head (a small body gathered into the same buffer).
    static func responseHead(_ head: HTTPResponseHead, allocator: ByteBufferAllocator, extra: Int = 0) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32 + head.status.reasonPhrase.utf8.count + headersSize(head.headers) + extra)
        buffer.writeStaticString(head.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let code = Int(head.status.code)
        buffer.writeInteger(UInt8(48 + code / 100))
        buffer.writeInteger(UInt8(48 + code / 10 % 10))
        buffer.writeInteger(UInt8(48 + code % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        writeHeaders(head.headers, into: &buffer)
        return buffer
    }

    /// Bytes the header lines will take, so the buffer is allocated once.
    @inline(__always)
    static func headersSize(_ headers: HTTPHeaders) -> Int {
        var size = 2
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    @inline(__always)
    static func writeHeaders(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// `size CRLF` before a chunk.
    static func chunkHeader(_ size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 20)
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
        return buffer
    }

    static let crlf = ByteBuffer(staticString: "\r\n")
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
    static let continueResponse = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
}
