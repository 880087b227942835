import NIOCore
import PnyxCore

/// The slow-client policy of one HTTP/1 connection: its deadlines and minimum rates.
struct SlowClientPolicy {
    var headerReadTimeout: TimeAmount
    var idleTimeout: TimeAmount
    /// Bytes per second a request body must average after the grace period (0: no check).
    var minBodyRate: Int
    /// Bytes per second a client must drain a response at while it is not keeping up (0: no check).
    var minSendRate: Int
    var grace: TimeAmount
    var counters: SlowClientCounters?

    init(
        headerReadTimeout: TimeAmount, idleTimeout: TimeAmount, minBodyRate: Int = 0, minSendRate: Int = 0,
        grace: TimeAmount = .seconds(10), counters: SlowClientCounters? = nil
    ) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.minBodyRate = minBodyRate
        self.minSendRate = minSendRate
        self.grace = grace
        self.counters = counters
    }

    /// How long `bytes` may take at `rate` bytes per second, after the grace period.
    func allowance(_ bytes: Int, rate: Int) -> TimeAmount {
        grace + .nanoseconds(Int64(Double(bytes) / Double(rate) * 1e9))
    }
}

/// Idle, header-read and slow-client deadlines of one HTTP/1 connection, as a small state machine with one lazy
/// timer.
///
/// The timer is never re-armed per request: when it fires early it re-arms for the remaining time, at most one
/// check period ahead, so a new deadline is never earlier than the armed one. On expiry an idle connection is
/// closed; a client that started a request head but did not finish it in time gets 408 and is closed. While a
/// request body arrives it must average the minimum body rate after the grace period (slow POST); while a
/// response is backed up because the client does not read it, the client must drain each stall (32 KiB) at the
/// minimum send rate, plus the grace period (slow read). Either failure closes the connection (with 408 if no
/// response had started).
final class ConnectionTimer {
    enum State {
        case idle(since: NIODeadline)
        case readingHead(since: NIODeadline)
        case readingBody(since: NIODeadline)
        case busy
        /// HTTP/2 took over the connection (its own idle handling applies), or the connection is closing.
        case disabled
    }

    private let policy: SlowClientPolicy
    private(set) var state: State = .idle(since: .now())
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let checkPeriod: TimeAmount

    /// Request-body bytes received in the current request.
    private var bodyBytes = 0
    /// The proxy paused reading from the client (its origin is not keeping up): that time is not the client's.
    private var clientReadsPaused = false
    private var lastCheck: NIODeadline = .now()
    /// When the armed timer fires.
    private var armedFor: NIODeadline = .distantFuture
    /// When the current response started (nil: none started).
    private var responseSince: NIODeadline?
    /// Since when the client connection has not been writable: the client is not reading what we send.
    private var stalledSince: NIODeadline?
    /// Bytes a stalled connection must drain before it is writable again: NIO's default write-buffer watermarks
    /// (64 KiB high, 32 KiB low). Measuring per stall makes the check independent of the kernel's send buffer.
    static let stallDrainBytes = 32 * 1024

    /// The owning handler sits where plaintext HTTP/1 bytes can be written (not in front of TLS).
    private let canAnswer: Bool

    init(policy: SlowClientPolicy, canAnswer: Bool = true) {
        self.policy = policy
        self.canAnswer = canAnswer
        var period = policy.headerReadTimeout
        if policy.minBodyRate > 0 || policy.minSendRate > 0 { period = min(period, max(policy.grace, .seconds(1))) }
        self.checkPeriod = period
    }

    convenience init(headerReadTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.init(policy: SlowClientPolicy(headerReadTimeout: headerReadTimeout, idleTimeout: idleTimeout))
    }

    /// Starts watching a connection; `context` is the handler that owns the timer.
    func start(context: ChannelHandlerContext) {
        self.context = context
        state = .idle(since: .now())
        arm(at: .now() + min(policy.headerReadTimeout, policy.idleTimeout))
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

    /// A request head arrived: the header-read clock stops; if a body follows, the body-rate clock starts.
    func requestStarted(hasBody: Bool) {
        if case .disabled = state { return }
        bodyBytes = 0
        responseSince = nil
        if hasBody && policy.minBodyRate > 0 {
            let now = NIODeadline.now()
            state = .readingBody(since: now)
            lastCheck = now
            // The lazy timer may be armed for much later (the header-read period): bring the first check forward.
            if armedFor > now + checkPeriod {
                timer?.cancel()
                timer = nil
                arm(at: now + checkPeriod)
            }
        } else {
            state = .busy
        }
    }

    @inline(__always)
    func bodyReceived(_ count: Int) { bodyBytes &+= count }

    func requestBodyEnded() {
        if case .readingBody = state { state = .busy }
    }

    func clientReads(paused: Bool) { clientReadsPaused = paused }

    func responseStarted() {
        if case .disabled = state { return }
        responseSince = .now()
    }

    func clientWritable(_ writable: Bool) {
        if writable {
            stalledSince = nil
        } else if stalledSince == nil {
            stalledSince = .now()
        }
    }

    /// A response finished: the connection is idle until the next request's first byte.
    func responseFinished() {
        if case .disabled = state { return }
        state = .idle(since: .now())
        responseSince = nil
    }

    func disable() {
        state = .disabled
        timer?.cancel()
        timer = nil
    }

    private func arm(at deadline: NIODeadline) {
        guard timer == nil, let context else { return }
        armedFor = deadline
        // A strong capture: weak references give an object a side table, and every retain of it then takes
        // the slow path. The cycle ends when the timer fires or `stop` cancels it (handlerRemoved).
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.fire() }
    }

    private func fire() {
        timer = nil
        guard let context else { return }
        let now = NIODeadline.now()
        var next = now + checkPeriod
        switch state {
        case .disabled:
            return
        case .busy:
            if sendTooSlow(now: now, context: context) { return }
        case .readingBody(var since):
            if clientReadsPaused {
                // Our own back-pressure: the paused time does not count against the client.
                since = since + (now - lastCheck)
                state = .readingBody(since: since)
            }
            lastCheck = now
            let deadline = since + policy.allowance(bodyBytes, rate: policy.minBodyRate)
            if now >= deadline {
                policy.counters?.body.wrappingIncrement(ordering: .relaxed)
                cut(context: context)
                return
            }
            if sendTooSlow(now: now, context: context) { return }
            next = min(next, deadline)
        case .idle(let since):
            let deadline = since + policy.idleTimeout
            if now >= deadline {
                state = .disabled
                context.close(promise: nil)
                return
            }
            next = min(next, deadline)
        case .readingHead(let since):
            let deadline = since + policy.headerReadTimeout
            if now >= deadline {
                policy.counters?.header.wrappingIncrement(ordering: .relaxed)
                cut(context: context)
                return
            }
            next = min(next, deadline)
        }
        arm(at: next)
    }

    /// A response is backed up (the channel is not writable) and the client has not drained one stall's worth
    /// of it at the minimum rate (after the grace period): close.
    private func sendTooSlow(now: NIODeadline, context: ChannelHandlerContext) -> Bool {
        guard policy.minSendRate > 0, responseSince != nil, let stalled = stalledSince else { return false }
        guard now >= stalled + policy.allowance(Self.stallDrainBytes, rate: policy.minSendRate) else { return false }
        policy.counters?.send.wrappingIncrement(ordering: .relaxed)
        state = .disabled
        close(context)
        return true
    }

    /// Closes the connection, or for an HTTP/2 stream resets the stream (RST_STREAM) and flushes the connection
    /// so the client hears of it now, not with the connection's next write.
    private func close(_ context: ChannelHandlerContext) {
        let parent = context.channel.parent
        context.close(promise: nil)
        parent?.flush()
    }

    /// Answers 408 and closes when no response has started; otherwise just closes.
    private func cut(context: ChannelHandlerContext) {
        state = .disabled
        guard responseSince == nil, canAnswer else {
            close(context)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 96)
        buffer.writeString("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        let channel = context.channel
        context.writeAndFlush(NIOAny(IOData.byteBuffer(buffer))).whenComplete { _ in channel.close(promise: nil) }
    }
}
