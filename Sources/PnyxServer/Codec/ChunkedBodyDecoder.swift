import NIOCore

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1) incrementally, for both the request and the
/// response parser. Chunk data is handed on as slices of the input; extensions and trailers are read and dropped.
struct ChunkedBodyDecoder {
    enum Step {
        /// Some chunk data.
        case data(ByteBuffer)
        /// The last chunk and the trailers were read.
        case end
        /// The buffer ends inside a size line, a CRLF or a trailer: keep what is left and wait for more bytes.
        case needMore
    }

    struct DecodeError: Error {
        let reason: String
        /// The trailers went past the allowed size (a 431 rather than a 400 for requests).
        let tooLarge: Bool
    }

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    private var state: State = .size
    static let maxSizeLineBytes = 4096

    /// Decodes from `buffer` until one step is complete.
    mutating func next(_ buffer: inout ByteBuffer, maxTrailerBytes: Int) throws(DecodeError) -> Step {
        while true {
            switch state {
            case .size:
                guard let lineEnd = HTTP1ResponseParser.lineLength(buffer) else {
                    if buffer.readableBytes > Self.maxSizeLineBytes {
                        throw DecodeError(reason: "chunk size line too long", tooLarge: false)
                    }
                    return .needMore
                }
                let line = buffer.readSlice(length: lineEnd)!
                buffer.moveReaderIndex(forwardBy: 2)
                guard let size = try? HTTP1ResponseParser.parseChunkSize(line) else {
                    throw DecodeError(reason: "invalid chunk size", tooLarge: false)
                }
                state = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                guard buffer.readableBytes > 0 else { return .needMore }
                let n = min(remaining, buffer.readableBytes)
                state = n == remaining ? .dataEnd : .data(remaining: remaining - n)
                return .data(buffer.readSlice(length: n)!)
            case .dataEnd:
                guard buffer.readableBytes >= 2 else { return .needMore }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw DecodeError(reason: "missing CRLF after chunk", tooLarge: false)
                }
                state = .size
            case .trailers:
                guard let lineEnd = HTTP1ResponseParser.lineLength(buffer) else {
                    if buffer.readableBytes > maxTrailerBytes { throw DecodeError(reason: "trailers too large", tooLarge: true) }
                    return .needMore
                }
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                if lineEnd == 0 {
                    state = .size
                    return .end
                }
            }
        }
    }
}
