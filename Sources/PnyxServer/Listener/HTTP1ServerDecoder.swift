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
    /// The connection's idle and header-read deadlines, when this handler owns them (plain HTTP).
    private let timer: ConnectionTimer?
    private var failed = false

    init(maxHeadBytes: Int, proxy: ProxyHandler, timer: ConnectionTimer?) {
        self.parser = HTTP1RequestParser(maxHeadBytes: maxHeadBytes)
        self.proxy = proxy
        self.timer = timer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { timer?.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        timer?.start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        timer?.bytesArrived()
        let proxy = self.proxy
        do {
            // Each request part goes to the proxy as soon as it is parsed (the proxy never touches the parser).
            try parser.feed(unwrapInboundIn(data)) { event in
                switch event {
                case .head(let head): proxy.receive(.head(head))
                case .body(let body): proxy.receive(.body(body))
                case .end: proxy.receive(.end(nil))
                }
            }
        } catch {
            failed = true
            proxy.requestMalformed(error)
        }
    }
}
