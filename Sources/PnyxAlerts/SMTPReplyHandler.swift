import PnyxCore
import NIOCore

/// One SMTP reply: its code and the text of each line (`250-first`, …, `250 last`).
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " / ") }
}

/// Splits the server's bytes into replies (a reply ends at a line whose fourth character is a space) and hands
/// them to the session through a stream.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let replies: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    private var pending: [UInt8] = []
    private var lines: [String] = []

    init(_ replies: AsyncThrowingStream<SMTPReply, any Error>.Continuation) { self.replies = replies }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        pending.append(contentsOf: buffer.readableBytesView)
        guard pending.count < 64 * 1024 else {
            replies.finish(throwing: DeliveryError("the mail server sent an over-long reply"))
            context.close(promise: nil)
            return
        }
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            pending.removeSubrange(...newline)
            take(String(decoding: line, as: UTF8.self))
        }
    }

    private func take(_ line: String) {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)) else {
            replies.finish(throwing: DeliveryError("the mail server sent '\(line.prefix(80))'"))
            return
        }
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
            replies.yield(SMTPReply(code: code, lines: lines))
            lines = []
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        replies.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        replies.finish(throwing: DeliveryError("the mail server closed the connection"))
        context.fireChannelInactive()
    }
}
