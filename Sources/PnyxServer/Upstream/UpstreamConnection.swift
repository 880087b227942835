import NIOCore
import NIOHTTP1
import PnyxCore

/// Why an upstream exchange failed.
enum UpstreamFailure: Error {
    /// The origin closed the connection before the response ended.
    case closed
    /// No response head within the site's upstream response timeout.
    case timeout
    /// The origin sent something that is not HTTP.
    case protocolError(any Error)
}

/// Receives what an upstream connection produces for the exchange that holds it. Always called on the
/// connection's event loop, which is also the client's.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
    func upstreamResponseBody(_ body: ByteBuffer)
    func upstreamResponseEnd()
    func upstreamReadComplete()
    func upstreamFailed(_ failure: UpstreamFailure)
    func upstreamWritabilityChanged(isWritable: Bool)
}

/// One keep-alive HTTP/1.1 connection to an origin: the last handler of its channel. It is held by one client
/// exchange at a time, or parked idle in its event loop's ``UpstreamPool``.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    enum State {
        case idle
        case awaitingHead
        case streamingResponse
        case closed
    }

    let origin: ResolvedOrigin
    private(set) var state: State = .idle
    private var context: ChannelHandlerContext?
    weak var pool: UpstreamPool?
    /// The exchange currently using this connection. Cleared when its response ends or fails.
    private var delegate: (any UpstreamDelegate)?
    /// Whether the origin allowed the connection to be reused after the current response.
    private(set) var responseKeepAlive = true
    /// How many requests this connection has carried.
    private(set) var requestCount = 0
    var idleSince: NIODeadline = .now()

    private var readsPaused = false
    private var pendingRead = false
    private var responseDeadline: NIODeadline = .distantFuture
    private var timer: Scheduled<Void>?

    init(origin: ResolvedOrigin) {
        self.origin = origin
    }

    var channel: (any Channel)? { context?.channel }
    var isActive: Bool { state != .closed && (context?.channel.isActive ?? false) }
    var isReused: Bool { requestCount > 1 }

    // MARK: used by the exchange

    func begin(delegate: any UpstreamDelegate, responseTimeout: TimeAmount) {
        self.delegate = delegate
        self.state = .awaitingHead
        self.requestCount += 1
        self.responseKeepAlive = true
        self.responseDeadline = .now() + responseTimeout
        self.armTimer(at: responseDeadline)
    }

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Detaches the exchange without closing (its response ended).
    func detach() {
        delegate = nil
        resumeReads()
    }

    /// Closes the connection and forgets the exchange (used when a client goes away mid-exchange).
    func abort() {
        delegate = nil
        state = .closed
        timer?.cancel()
        context?.close(promise: nil)
    }

    func pauseReads() { readsPaused = true }

    func resumeReads() {
        readsPaused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            guard state == .awaitingHead, let delegate else {
                // A response nobody asked for: the connection is unusable.
                state = .closed
                context.close(promise: nil)
                return
            }
            if head.status.code < 200 { return }
            state = .streamingResponse
            responseKeepAlive = head.isKeepAlive
            delegate.upstreamResponseHead(head)
        case .body(let body):
            delegate?.upstreamResponseBody(body)
        case .end:
            guard state == .streamingResponse else { return }
            state = .idle
            let delegate = self.delegate
            self.delegate = nil
            delegate?.upstreamResponseEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        timer?.cancel()
        let delegate = self.delegate
        self.delegate = nil
        pool?.forget(self)
        delegate?.upstreamFailed(.closed)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let delegate = self.delegate
        self.delegate = nil
        state = .closed
        context.close(promise: nil)
        if error is HTTPParserError {
            delegate?.upstreamFailed(.protocolError(error))
        } else {
            delegate?.upstreamFailed(.closed)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    // MARK: response timeout (a lazy timer: re-armed only when it fires early)

    private func armTimer(at deadline: NIODeadline) {
        guard timer == nil, let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard state == .awaitingHead else { return }
        let now = NIODeadline.now()
        if now >= responseDeadline {
            let delegate = self.delegate
            self.delegate = nil
            state = .closed
            context?.close(promise: nil)
            delegate?.upstreamFailed(.timeout)
        } else {
            armTimer(at: responseDeadline)
        }
    }
}
