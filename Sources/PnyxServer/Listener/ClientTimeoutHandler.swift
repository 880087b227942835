import NIOCore

/// Watches a TLS connection from before the handshake: a client that connects and never completes TLS, or sits
/// idle, is closed, as is one that is too slow with its request head or body or in reading the response. (Plain-HTTP
/// connections run the same ``ConnectionTimer`` inside their ``HTTP1ServerDecoder`` instead.)
final class ClientTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timer: ConnectionTimer

    init(policy: SlowClientPolicy) {
        // In front of TLS: a 408 written here would be plaintext on a TLS connection, so a cut just closes.
        self.timer = ConnectionTimer(policy: policy, canAnswer: false)
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
