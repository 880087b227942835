import NIOCore
import NIOHTTP1

/// A request's identifier: 16 lower-case hex digits, sent upstream as `X-Request-ID` and logged.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String {
        let hex = String(value, radix: 16)
        return hex.count >= 16 ? hex : String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Who is asking: the TCP peer, and the client address after trusted-proxy headers were read.
public struct ClientIdentity: Sendable {
    /// The address used for every security decision.
    public var address: IPAddress?
    /// The TCP peer (a load balancer when Pnyx sits behind one).
    public var peer: IPAddress?
    /// True when the TCP peer is a trusted proxy, so its `X-Forwarded-For`/`Forwarded` headers were believed.
    public var peerIsTrustedProxy: Bool
    public init(address: IPAddress?, peer: IPAddress?, peerIsTrustedProxy: Bool) {
        self.address = address
        self.peer = peer
        self.peerIsTrustedProxy = peerIsTrustedProxy
    }
    public var addressText: String { address?.description ?? "-" }
}

/// How a request ended, for logs and metrics labels.
public enum RequestOutcome: String, Sendable {
    /// Forwarded to an origin and answered by it.
    case forwarded
    /// Answered locally by a filter (`Verdict.respond`).
    case responded
    /// Answered from the cache (or the site's emergency static pages) without asking the origin.
    case cached
    /// Refused by a filter (`Verdict.block`).
    case blocked
    /// Shown the bot challenge (or answered by its verification endpoints).
    case challenged
    /// The origin failed (connect error, timeout, broken response).
    case upstreamError = "upstream_error"
    /// The client request was unusable (unknown host, malformed) or the client went away.
    case clientError = "client_error"
}

/// Everything known about one request as it flows down the phases. One instance per request, used only on the
/// event loop that owns the request. Filters read it and record their decisions in it.
extension HTTPRequestHead {
    /// The head announces a body (a `Content-Length` other than 0, or a `Transfer-Encoding`). An HTTP/2 request
    /// without either is given a chunked `Transfer-Encoding` by the HTTP/2-to-HTTP/1 codec.
    public var announcesBody: Bool {
        if let length = headers.first(name: "content-length") { return length != "0" }
        return headers.contains(name: "transfer-encoding")
    }
}

/// How much request body the proxy holds back for inspection, and what happens to a longer one.
public struct BodyHold: Sendable {
    public var limit: Int
    public var rejectLarger: Bool
}

/// Open so that the proxy's own per-exchange state can extend it (one object per request instead of two); every
/// member is final, so filters read them directly.
open class RequestContext {
    public final let id: RequestID
    public final let site: Site
    public final let client: ClientIdentity
    /// The request head as the client sent it.
    public final let head: HTTPRequestHead
    /// The request target (`head.uri`), read once: filters ask for it and for ``path`` many times per request.
    public final let uri: String
    /// Where the path ends in ``uri`` (at `?`, or the end).
    @usableFromInline final let pathEnd: String.Index
    /// `https` or `http`: the scheme the client used to reach Pnyx.
    public final let scheme: String
    /// Host the client asked for, lower-case, without port.
    public final let host: String
    /// Monotonic start time.
    public final let start: NIODeadline
    /// Wall-clock start time, milliseconds since the epoch.
    public final let startWallMillis: Int64
    public final let events: any EventSink

    /// The client is on an allow list: later protections let it through (an administrator can never lock
    /// themselves out).
    public final var allowListed = false
    /// A protection asks for the bot challenge (a rate-limit rule with `action: challenge`): its rule name.
    public final var challengeRequestedBy: String?
    public final var outcome: RequestOutcome = .forwarded
    /// The filter that responded or blocked, if any.
    public final var decidedBy: FilterName?
    /// The rule that blocked, if any.
    public final var rule: String?
    public final var status: Int = 0
    /// What the cache did (nil before the cache phase, and for requests refused before it).
    public final var cacheStatus: CacheStatus?
    public final var requestBodyBytes: Int64 = 0
    public final var responseBodyBytes: Int64 = 0
    /// Origin the request went to, if any.
    public final var origin: OriginAddress?
    /// When the upstream request started and when its response head arrived.
    public final var upstreamStart: NIODeadline?
    public final var upstreamHeadAt: NIODeadline?
    public final var end: NIODeadline?
    /// Set in `requestHead` by a filter that must see the whole body before the origin gets any of it (the WAF):
    /// the proxy holds the body back (up to `limit` bytes) and runs the `inspectBody` phase at its end.
    public final private(set) var bodyHold: BodyHold?
    /// Per-request state of the inspecting filter (the WAF's transaction), kept between its phases.
    public final var inspection: AnyObject?

    public init(
        id: RequestID, site: Site, client: ClientIdentity, head: HTTPRequestHead, scheme: String, host: String,
        start: NIODeadline, startWallMillis: Int64, events: any EventSink
    ) {
        self.id = id
        self.site = site
        self.client = client
        self.head = head
        let uri = head.uri
        self.uri = uri
        self.pathEnd = uri.utf8.firstIndex(of: UInt8(ascii: "?")) ?? uri.endIndex
        self.scheme = scheme
        self.host = host
        self.start = start
        self.startWallMillis = startWallMillis
        self.events = events
    }

    /// Records a security event for this request without waiting.
    /// Asks the proxy to hold the request body back for the `inspectBody` phase. A body longer than `limit` is
    /// refused with 413 if `rejectLarger`, else sent on uninspected (the filter is told through `bodyOverflowed`).
    public final func holdBody(limit: Int, rejectLarger: Bool) {
        if let bodyHold {
            self.bodyHold = BodyHold(limit: max(bodyHold.limit, limit), rejectLarger: bodyHold.rejectLarger || rejectLarger)
        } else {
            bodyHold = BodyHold(limit: limit, rejectLarger: rejectLarger)
        }
    }

    /// The held body was longer than the limit and went to the origin uninspected.
    public final var bodyOverflowed = false

    public final func emit(filter: FilterName, rule: String, action: SecurityEvent.Action, evidence: String) {
        events.emit(
            SecurityEvent(
                timeMillis: startWallMillis, site: site.name.rawValue, client: client.addressText,
                filter: filter.rawValue, rule: rule, action: action, method: head.method.rawValue, path: head.uri,
                evidence: evidence, requestID: id.description))
    }

    /// Path part of the request target (before `?`).
    @inlinable
    public final var path: Substring { uri[..<pathEnd] }
}

/// A site as the data path sees it: its configuration plus what was built from it once.
public final class Site: Sendable {
    public let configuration: SiteConfiguration
    /// Position in its snapshot's list of sites (-1 outside one): filters keep per-site data in arrays
    /// (``SiteTable``), so a per-request lookup hashes nothing.
    public let index: Int
    public var name: SiteName { configuration.name }
    public init(configuration: SiteConfiguration, index: Int = -1) {
        self.configuration = configuration
        self.index = index
    }
}

/// Per-site data of a filter, looked up by the site's ``Site/index`` (an array access and an identity check)
/// instead of a dictionary of `ObjectIdentifier`s (a hash per request).
///
/// The lookup is `@inlinable` so that it is specialized in the filter's module: called generically across the
/// module boundary, every lookup made the runtime find the metadata of its tuple type behind a lock (measured:
/// about 3% of the proxy's CPU).
public struct SiteTable<Value: Sendable>: Sendable {
    @usableFromInline let entries: [(site: ObjectIdentifier, value: Value)?]
    @usableFromInline let byIdentity: [(site: ObjectIdentifier, value: Value)]

    /// - Parameter make: the value for a site, or nil for none.
    public init(_ sites: [Site], _ make: (Site) -> Value?) {
        var entries: [(site: ObjectIdentifier, value: Value)?] = []
        var byIdentity: [(site: ObjectIdentifier, value: Value)] = []
        for site in sites {
            guard let value = make(site) else { continue }
            byIdentity.append((ObjectIdentifier(site), value))
            guard site.index >= 0 else { continue }
            while entries.count <= site.index { entries.append(nil) }
            entries[site.index] = (ObjectIdentifier(site), value)
        }
        self.entries = entries
        self.byIdentity = byIdentity
    }

    public var isEmpty: Bool { byIdentity.isEmpty }

    @inlinable
    public subscript(site: Site) -> Value? {
        let index = site.index
        if index >= 0 {
            guard index < entries.count, let entry = entries[index], entry.site == ObjectIdentifier(site) else { return nil }
            return entry.value
        }
        // A site made outside a snapshot (tools, tests): few sites, a linear search.
        return byIdentity.first { $0.site == ObjectIdentifier(site) }?.value
    }
}
