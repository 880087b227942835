/// The named stops on Pnyx's data path, in the order a request passes them.
///
/// ```
/// connection → requestHead → requestBody → [inspectBody] → cache → upstream → upstreamResponse → [originBody] → response → complete
/// ```
/// `originBody` is taken only by responses a filter asked to see whole (integrity: pinned and signed paths).
public enum Phase: String, Sendable, CaseIterable {
    /// A client connection was accepted (TLS, connection caps, slow-client timers).
    case connection
    /// The request head is parsed and the site is known (client IP, WAF head rules, rate limits, challenge).
    case requestHead
    /// A chunk of the request body arrived (capped, streamed, body inspection).
    case requestBody
    /// The whole request body, held back from the origin for the filters that asked (WAF body rules).
    case inspectBody
    /// Before going upstream: a filter may answer from cache.
    case cache
    /// The request head about to be sent to the origin can be rewritten.
    case upstream
    /// The origin's response head arrived (integrity, cache store).
    case upstreamResponse
    /// The origin's whole response body, for the few responses a filter collects (integrity baselines, signing).
    case originBody
    /// A response body rewritten as it streams to the client (integrity: CSP nonces and SRI on script tags).
    case rewrite
    /// The response head about to be sent to the client (security headers, cookies).
    case response
    /// The exchange is over (log, metrics, events). Never awaited on the request path.
    case complete
}

/// A set of phases: the ones a filter implements. The chain calls a filter only in those.
public struct PhaseSet: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let connection = PhaseSet(rawValue: 1 << 0)
    public static let requestHead = PhaseSet(rawValue: 1 << 1)
    public static let requestBody = PhaseSet(rawValue: 1 << 2)
    public static let cache = PhaseSet(rawValue: 1 << 3)
    public static let upstream = PhaseSet(rawValue: 1 << 4)
    public static let upstreamResponse = PhaseSet(rawValue: 1 << 5)
    public static let response = PhaseSet(rawValue: 1 << 6)
    public static let complete = PhaseSet(rawValue: 1 << 7)
    public static let originBody = PhaseSet(rawValue: 1 << 8)
    public static let rewrite = PhaseSet(rawValue: 1 << 9)
    public static let inspectBody = PhaseSet(rawValue: 1 << 10)
    public static let all = PhaseSet(rawValue: 0x7FF)
}
