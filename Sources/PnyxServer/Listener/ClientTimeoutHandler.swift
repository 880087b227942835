import NIOCore

/// Watches a TLS connection from before the handshake: a client that connects and never completes TLS, or sits
/// idle, is closed; one that starts an HTTP/1 request head and does not finish it gets 408. (Plain-HTTP
/// connections run the same ``ConnectionTimer`` inside their ``HTTP1ServerDecoder`` instead.)
final class ClientTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timer: ConnectionTimer

    init(headerReadTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.timer = ConnectionTimer(headerReadTimeout: headerReadTimeout, idleTimeout: idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { timer.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        timer.start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived()
        context.fireChannelRead(data)
    }

    /// HTTP/2 was negotiated: stop watching (streams are not visible here).
    func disable() {
        timer.disable()
    }
}
