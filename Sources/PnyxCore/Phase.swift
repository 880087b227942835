/// The named stops on Pnyx's data path, in the order a request passes them.
///
/// ```
/// connection → requestHead → requestBody → cache → upstream → upstreamResponse → response → complete
/// ```
public enum Phase: String, Sendable, CaseIterable {
    /// A client connection was accepted (TLS, connection caps, slow-client timers).
    case connection
    /// The request head is parsed and the site is known (client IP, WAF head rules, rate limits, challenge).
    case requestHead
    /// A chunk of the request body arrived (capped, streamed, body inspection).
    case requestBody
    /// Before going upstream: a filter may answer from cache.
    case cache
    /// The request head about to be sent to the origin can be rewritten.
    case upstream
    /// The origin's response head arrived (integrity, cache store).
    case upstreamResponse
    /// The response head about to be sent to the client (security headers, cookies).
    case response
    /// The exchange is over (log, metrics, events). Never awaited on the request path.
    case complete
}
