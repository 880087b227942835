import NIOCore

/// Closes HTTP/1 connections that sit idle too long between requests, and answers 408 to clients that take
/// too long to send a request head once they have started (slowloris).
///
/// It sits before the HTTP codec and sees raw bytes. The ``ProxyHandler`` of the same pipeline (same event loop)
/// tells it when a request head has arrived and when a response has finished. One lazy timer per connection:
/// it is never re-armed per request; when it fires early it re-arms for the remaining time, at most one
/// header-read period ahead, so a new deadline is never earlier than the armed one.
final class ClientTimeoutHandler: ChannelInboundHandler {
    // Inbound only, so responses do not pass through it.
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum State {
        case idle(since: NIODeadline)
        case readingHead(since: NIODeadline)
        case busy
        /// HTTP/2 took over the connection; its own idle handling applies.
        case disabled
    }

    private let headerReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var state: State = .idle(since: .now())
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(headerReadTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(context: context, at: .now() + min(headerReadTimeout, idleTimeout)) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        state = .idle(since: .now())
        arm(context: context, at: .now() + min(headerReadTimeout, idleTimeout))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state { state = .readingHead(since: .now()) }
        context.fireChannelRead(data)
    }

    /// A request head arrived: the header-read clock stops.
    func requestStarted() {
        if case .disabled = state {} else { state = .busy }
    }

    /// A response finished: the connection is idle until the next request's first byte.
    func responseFinished() {
        if case .disabled = state {} else { state = .idle(since: .now()) }
    }

    /// HTTP/2 was negotiated: stop watching (streams are not visible here).
    func disable() {
        state = .disabled
        timer?.cancel()
        timer = nil
    }

    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.fire()
        }
    }

    private func fire() {
        timer = nil
        guard let context else { return }
        let now = NIODeadline.now()
        let deadline: NIODeadline
        switch state {
        case .disabled:
            return
        case .busy:
            arm(context: context, at: now + headerReadTimeout)
            return
        case .idle(let since):
            deadline = since + idleTimeout
            if now >= deadline {
                context.close(promise: nil)
                return
            }
        case .readingHead(let since):
            deadline = since + headerReadTimeout
            if now >= deadline {
                var buffer = context.channel.allocator.buffer(capacity: 96)
                buffer.writeString(
                    "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                state = .disabled
                context.writeAndFlush(NIOAny(IOData.byteBuffer(buffer))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
                return
            }
        }
        arm(context: context, at: min(deadline, now + headerReadTimeout))
    }
}
