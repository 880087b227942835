import NIOCore
import NIOHTTP1

/// What a filter decided for a request at one phase.
public enum Verdict: Sendable {
    /// Let the request go on to the next filter and phase.
    case `continue`
    /// Answer the client with a local response (not an attack: a redirect, a cached object, a challenge page).
    case respond(LocalResponse)
    /// Refuse the request: a security decision, recorded as a security event.
    case block(Block)
    /// Read the request body here (up to the consumer's limit) instead of forwarding it, then answer with what
    /// the consumer says (an endpoint Pnyx serves itself that takes a body: CSP reports).
    case consume(any RequestBodyConsumer)
}

/// Takes a request body Pnyx answers itself. Used on the request's event loop only (an implementation is
/// `@unchecked Sendable` for that reason: it never leaves the loop).
public protocol RequestBodyConsumer: AnyObject, Sendable {
    /// Most body bytes accepted (413 beyond).
    var limit: Int { get }
    func consume(_ chunk: ByteBuffer)
    /// The body ended: the answer.
    func finish(_ context: RequestContext) -> LocalResponse
}

/// A refusal, with what the client is told and what the security event records.
public struct Block: Sendable {
    public var status: HTTPResponseStatus
    /// Which filter refused (`limits`, `waf`, `rate_limit` …).
    public var filter: FilterName
    /// The rule inside the filter (`max_body_bytes`, a CRS rule id …).
    public var rule: String
    /// A short, human-readable reason shown on the error page.
    public var message: String
    /// Short evidence for the security event (never a whole body).
    public var evidence: String
    /// Whether the client connection is closed after the response.
    public var closeConnection: Bool
    /// Sent as `Retry-After` (seconds), e.g. with 429.
    public var retryAfterSeconds: Int?
    /// Whether this block is recorded as a security event. A filter that blocks the same client again and again
    /// (a rate limit under a flood) records the first block of a run, not every one; metrics count them all.
    public var record: Bool

    public init(
        status: HTTPResponseStatus, filter: FilterName, rule: String, message: String,
        evidence: String = "", closeConnection: Bool = false, retryAfterSeconds: Int? = nil, record: Bool = true
    ) {
        self.retryAfterSeconds = retryAfterSeconds
        self.record = record
        self.status = status
        self.filter = filter
        self.rule = rule
        self.message = message
        self.evidence = evidence
        self.closeConnection = closeConnection
    }
}

/// A response Pnyx writes itself instead of asking the origin.
public struct LocalResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
