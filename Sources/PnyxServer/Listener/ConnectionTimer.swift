import NIOCore

/// Idle and header-read deadlines of one HTTP/1 connection, as a small state machine with one lazy timer.
///
/// The timer is never re-armed per request: when it fires early it re-arms for the remaining time, at most one
/// header-read period ahead, so a new deadline is never earlier than the armed one. On expiry an idle connection
/// is closed; a client that started a request head but did not finish it in time gets 408 and is closed.
final class ConnectionTimer {
    enum State {
        case idle(since: NIODeadline)
        case readingHead(since: NIODeadline)
        case busy
        /// HTTP/2 took over the connection (its own idle handling applies), or the connection is closing.
        case disabled
    }

    private let headerReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private(set) var state: State = .idle(since: .now())
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(headerReadTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
    }

    /// Starts watching a connection; `context` is the handler that owns the timer.
    func start(context: ChannelHandlerContext) {
        self.context = context
        state = .idle(since: .now())
        arm(at: .now() + min(headerReadTimeout, idleTimeout))
    }

    func stop() {
        timer?.cancel()
        timer = nil
        context = nil
    }

    /// Bytes arrived from the client.
    @inline(__always)
    func bytesArrived() {
        if case .idle = state { state = .readingHead(since: .now()) }
    }

    /// A request head arrived: the header-read clock stops.
    func requestStarted() {
        if case .disabled = state {} else { state = .busy }
    }

    /// A response finished: the connection is idle until the next request's first byte.
    func responseFinished() {
        if case .disabled = state {} else { state = .idle(since: .now()) }
    }

    func disable() {
        state = .disabled
        timer?.cancel()
        timer = nil
    }

    private func arm(at deadline: NIODeadline) {
        guard timer == nil, let context else { return }
        // A strong capture: weak references give an object a side table, and every retain of it then takes
        // the slow path. The cycle ends when the timer fires or `stop` cancels it (handlerRemoved).
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.fire() }
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
            arm(at: now + headerReadTimeout)
            return
        case .idle(let since):
            deadline = since + idleTimeout
            if now >= deadline {
                state = .disabled
                context.close(promise: nil)
                return
            }
        case .readingHead(let since):
            deadline = since + headerReadTimeout
            if now >= deadline {
                state = .disabled
                var buffer = context.channel.allocator.buffer(capacity: 96)
                buffer.writeString("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                let channel = context.channel
                context.writeAndFlush(NIOAny(IOData.byteBuffer(buffer))).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
        arm(at: min(deadline, now + headerReadTimeout))
    }
}
