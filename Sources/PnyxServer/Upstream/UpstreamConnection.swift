import NIOCore
import NIOHTTP1
import PnyxCore

/// Why an upstream exchange failed.
enum UpstreamFailure: Error {
    /// The origin closed the connection before the response ended.
    case closed
    /// No response head within the site's upstream response timeout.
    case timeout
    /// The origin sent something that is not valid HTTP/1.1.
    case protocolError(any Error)
}

/// Receives what an upstream connection produces for the exchange that holds it. Always called on the
/// connection's event loop, which is also the client's.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: consuming ResponseHead)
    func upstreamResponseBody(_ body: ByteBuffer)
    func upstreamResponseEnd()
    func upstreamReadComplete()
    func upstreamFailed(_ failure: UpstreamFailure)
    func upstreamWritabilityChanged(isWritable: Bool)
}

/// One keep-alive HTTP/1.1 connection to an origin: the only handler of its channel. It writes request heads
/// and bodies as bytes and parses responses with ``HTTP1ResponseParser``, handing body slices straight on.
/// It is held by one client exchange at a time, or parked idle in its event loop's ``UpstreamPool``.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    enum State {
        case idle
        case awaitingHead
        case streamingResponse
        case closed
    }

    let origin: ResolvedOrigin
    private(set) var state: State = .idle
    private var context: ChannelHandlerContext?
    /// Strong, not weak (see `armTimer`); cleared when the connection closes.
    var pool: UpstreamPool?
    /// The exchange currently using this connection. Cleared when its response ends or fails.
    private var delegate: (any UpstreamDelegate)?
    private var parser = HTTP1ResponseParser()
    /// Reused between reads (no allocation per read once warmed up).
    private var events: [HTTP1ResponseParser.Event] = []
    /// Whether the request body is sent with chunked framing.
    private var requestChunked = false
    /// Something was written and not yet flushed.
    private var unflushed = false
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

    /// Tracked from the channel's events, so the pool's checks cost no pipeline calls.
    private var channelActive = false
    var isActive: Bool { state != .closed && channelActive }
    private let allocator = ByteBufferAllocator()
    /// Request heads are written into the same memory each time (see ``RecycledBuffer``).
    private var headBuffer = RecycledBuffer()
    var isReused: Bool { requestCount > 1 }
    /// Whether the connection can carry another request after the response that just ended.
    private(set) var responseKeepAlive = true
    /// Tracked from the channel's writability events (no channel call per request).
    private(set) var isWritable = false

    // MARK: used by the exchange

    func begin(delegate: any UpstreamDelegate, responseTimeout: TimeAmount, isHEAD: Bool, now: NIODeadline) {
        self.delegate = delegate
        self.state = .awaitingHead
        self.requestCount += 1
        self.parser.expectResponse(toHEAD: isHEAD)
        self.responseDeadline = now + responseTimeout
        self.armTimer(at: responseDeadline)
    }

    /// - Parameters:
    ///   - chunked: the head says `Transfer-Encoding: chunked`; body parts are framed as chunks.
    ///   - flush: nothing follows at once (a body-less request, or the body has not arrived): written and flushed in
    ///     one pass through the pipeline.
    func sendHead(_ head: UpstreamRequestHead, chunked: Bool, flush: Bool = false) {
        guard let context else { return }
        requestChunked = chunked
        var buffer = headBuffer.take(minimumCapacity: HTTP1Serializer.requestHeadSize(head))
        HTTP1Serializer.writeRequestHead(head, into: &buffer)
        headBuffer.keep(buffer)
        if flush {
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            unflushed = false
        } else {
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            unflushed = true
        }
    }

    /// The response head's fields have been written to the client: their memory can carry the next head.
    func recycle(_ head: ResponseHead) {
        parser.recycle(head.headers.bytes)
    }

    func sendBody(_ body: ByteBuffer) {
        guard let context, body.readableBytes > 0 else { return }
        unflushed = true
        if requestChunked {
            context.write(wrapOutboundOut(.byteBuffer(HTTP1Serializer.chunkHeader(body.readableBytes, allocator: allocator))), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(HTTP1Serializer.crlf)), promise: nil)
        } else {
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: nil)
        }
    }

    /// The request is complete: the last chunk (chunked framing) and a flush, if anything is still unflushed (a
    /// body-less request's head was flushed when it was sent; a flush with nothing to write still walks the
    /// pipeline and the channel's checks).
    func sendEnd() {
        guard let context else { return }
        if requestChunked {
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(HTTP1Serializer.lastChunk)), promise: nil)
        } else if unflushed {
            context.flush()
        }
        unflushed = false
    }

    /// Flushes what was written since the last flush (nothing to do otherwise: a flush walks the pipeline).
    func flush() {
        guard unflushed else { return }
        unflushed = false
        context?.flush()
    }

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
        channelActive = context.channel.isActive
        isWritable = context.channel.isWritable
    }

    func channelActive(context: ChannelHandlerContext) {
        channelActive = true
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        channelActive = false
        isWritable = false
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard state == .awaitingHead || state == .streamingResponse else {
            // Bytes nobody asked for (an idle connection): it cannot be trusted any more.
            fail(.closed, context: context)
            return
        }
        var events = self.events
        self.events = []
        defer {
            events.removeAll(keepingCapacity: true)
            self.events = events
        }
        do {
            try parser.feed(bytes, into: &events)
        } catch {
            fail(.protocolError(error), context: context)
            return
        }
        // Dispatched after parsing: a delegate may close or release the connection from inside a callback.
        for index in events.indices {
            guard let delegate = self.delegate, state != .closed else { return }
            if let head = events[index].takeHead() {
                // Moved out of the list, so the delegate holds the only reference to the head's fields and adds
                // to them in place (a second reference made the first added header copy the whole block).
                state = .streamingResponse
                delegate.upstreamResponseHead(head)
                continue
            }
            switch events[index] {
            case .head:
                break
            case .body(let body):
                delegate.upstreamResponseBody(body)
            case .end(let reusable):
                responseKeepAlive = reusable
                state = reusable ? .idle : .closed
                self.delegate = nil
                delegate.upstreamResponseEnd()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        channelActive = false
        timer?.cancel()
        let delegate = self.delegate
        self.delegate = nil
        if state == .streamingResponse && parser.connectionClosed() {
            // A close-delimited body ends with the connection.
            state = .closed
            responseKeepAlive = false
            delegate?.upstreamResponseEnd()
        } else {
            state = .closed
            delegate?.upstreamFailed(.closed)
        }
        pool?.forget(self)
        pool = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.closed, context: context)
    }

    private func fail(_ failure: UpstreamFailure, context: ChannelHandlerContext) {
        let delegate = self.delegate
        self.delegate = nil
        state = .closed
        context.close(promise: nil)
        delegate?.upstreamFailed(failure)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        delegate?.upstreamWritabilityChanged(isWritable: isWritable)
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
        // A strong capture (no weak reference, so no side table and no slow-path retains on this hot object);
        // the cycle ends when the timer fires or is cancelled on close.
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard state == .awaitingHead, let context else { return }
        if NIODeadline.now() >= responseDeadline {
            fail(.timeout, context: context)
        } else {
            armTimer(at: responseDeadline)
        }
    }
}

extension HTTP1ResponseParser.Event {
    /// The head, moved out of the event (which becomes an `.end`); nil for other events.
    mutating func takeHead() -> ResponseHead? {
        guard case .head(let head) = self else { return nil }
        self = .end(reusable: false)
        return head
    }
}
