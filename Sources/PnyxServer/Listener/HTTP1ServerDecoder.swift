import NIOCore
import NIOHTTP1

/// Parses HTTP/1.1 requests from the client's bytes with ``HTTP1RequestParser`` and hands the parts straight to
/// the connection's ``ProxyHandler`` (same pipeline, same event loop): no boxing, no extra pipeline traversal.
/// After a parse error nothing more is read from the connection.
final class HTTP1ServerDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTPServerRequestPart

    private var parser: HTTP1RequestParser
    private let proxy: ProxyHandler
    private var failed = false
    /// Reused between reads (no allocation per read once warmed up).
    private var events: [HTTP1RequestParser.Event] = []

    init(maxHeadBytes: Int, proxy: ProxyHandler) {
        self.parser = HTTP1RequestParser(maxHeadBytes: maxHeadBytes)
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var events = self.events
        self.events = []
        defer {
            events.removeAll(keepingCapacity: true)
            self.events = events
        }
        var failure: HTTP1RequestParser.ParseError?
        do {
            try parser.feed(unwrapInboundIn(data), into: &events)
        } catch {
            failure = error
            failed = true
        }
        for event in events {
            switch event {
            case .head(let head): proxy.receive(.head(head))
            case .body(let body): proxy.receive(.body(body))
            case .end: proxy.receive(.end(nil))
            }
        }
        if let failure { proxy.requestMalformed(failure) }
    }
}
