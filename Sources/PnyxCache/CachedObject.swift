import Atomics
import NIOCore
import PnyxCore

/// One stored response: status, header fields as they will be served (no `Age`, no hop-by-hop fields, no
/// `Set-Cookie` when a rule strips cookies), the whole body, and the facts its freshness is computed from.
/// Immutable and shared by every event loop; a revalidation makes a new object.
public final class CachedObject: Sendable {
    public let key: CacheKey
    /// The request fields the response varies on, and this variant's values of them.
    public let vary: VaryKey
    public let status: Int
    public let headers: HeaderBlock
    public let body: ByteBuffer
    public let facts: StoredResponseFacts
    public let etag: String?
    public let lastModified: String?
    /// Seconds past freshness this object may stand in for a failing origin (the site's `grace`).
    public let grace: Int64
    /// Bytes it is counted as in the memory bound.
    public let cost: Int
    /// Set when the object is evicted or purged, so per-event-loop views drop their reference.
    private let dropped = ManagedAtomic<Bool>(false)

    public init(
        key: CacheKey, vary: VaryKey, status: Int, headers: HeaderBlock, body: ByteBuffer, facts: StoredResponseFacts,
        grace: Int64
    ) {
        self.key = key
        self.vary = vary
        self.status = status
        self.headers = headers
        self.body = body
        self.facts = facts
        self.etag = headers.first(name: "etag")
        self.lastModified = headers.first(name: "last-modified")
        self.grace = grace
        self.cost = body.readableBytes + headers.bytes.readableBytes + key.site.utf8.count + key.host.utf8.count
            + key.target.utf8.count + 256
    }

    public var isDropped: Bool { dropped.load(ordering: .relaxed) }
    func drop() { dropped.store(true, ordering: .relaxed) }

    /// How the object may be used at `now` (seconds since the epoch).
    @inline(__always)
    public func use(now: Int64) -> StoredResponseFacts.Use { facts.use(now: now, grace: grace) }

    /// Whether it may stand in for a failing origin at `now`.
    public func usableOnError(now: Int64) -> Bool {
        switch use(now: now) {
        case .fresh, .staleWhileRevalidate: return true
        case .revalidate(let until): return until.map { now <= $0 } ?? false
        }
    }

    /// The stored copy after the origin answered 304 to its validators: a fresh copy to store, or nil when the
    /// merged fields no longer allow storing (serve this one once, store nothing).
    public func revalidated(
        by notModified: HeaderBlock, requestHasAuthorization: Bool, rule: CacheRule?, policy: CachePolicy, requestTime: Int64,
        responseTime: Int64, maxObjectBytes: Int64
    ) -> CachedObject? {
        var merged = headers
        for (name, value) in notModified where name.lowercased() != "content-length" {
            merged.replaceOrAdd(name: name.lowercased(), value: value)
        }
        let plan = StorePlan.decide(
            status: status, headers: merged, requestHasAuthorization: requestHasAuthorization, rule: rule, policy: policy,
            requestTime: requestTime, responseTime: responseTime, maxObjectBytes: maxObjectBytes)
        guard case .success(let plan) = plan else { return nil }
        return revalidated(with: notModified, plan: plan)
    }

    /// The same response, confirmed unchanged by a 304: the 304's fields replace the stored ones (RFC 9111
    /// §4.3.4) and freshness starts again.
    public func revalidated(with notModified: HeaderBlock, plan: StorePlan) -> CachedObject {
        var headers = self.headers
        for (name, value) in notModified {
            let lower = name.lowercased()
            if lower == "content-length" || lower == "set-cookie" || lower == "age" { continue }
            headers.replaceOrAdd(name: lower, value: value)
        }
        return CachedObject(key: key, vary: vary, status: status, headers: headers, body: body, facts: plan.facts, grace: grace)
    }
}

/// What the cache will do with an origin response, decided from its head (before the body arrives).
public struct StorePlan: Sendable {
    public var facts: StoredResponseFacts
    /// The field names of the response's `Vary`.
    public var varyNames: [String]
    /// Remove `Set-Cookie` (a rule allowed caching a response that sets one).
    public var stripCookies: Bool
    public var grace: Int64

    /// Decides whether a response to a GET may be stored (RFC 9111 §3, with the site's rule and policy).
    /// - Parameters:
    ///   - requestTime, responseTime: seconds since the epoch.
    public static func decide(
        status: Int, headers: HeaderBlock, requestHasAuthorization: Bool, rule: CacheRule?, policy: CachePolicy,
        requestTime: Int64, responseTime: Int64, maxObjectBytes: Int64
    ) -> Result<StorePlan, RefusalReason> {
        if let length = headers.firstInteger(name: "content-length"), Int64(length) > maxObjectBytes {
            return .failure(RefusalReason("larger than max_object"))
        }
        let origin = CacheControl(headers.values(name: "cache-control"))
        let varyNames = VaryKey.names(headers.values(name: "vary"))
        let setsCookie = headers.contains(name: "set-cookie")
        let expiresText = headers.first(name: "expires")
        let expires = expiresText.flatMap { HTTPDate.parse($0) }
        var facts = StoredResponseFacts(
            status: status, cacheControl: origin, date: headers.first(name: "date").flatMap { HTTPDate.parse($0) },
            expires: expires, expiresInvalid: expiresText != nil && expires == nil,
            lastModified: headers.first(name: "last-modified").flatMap { HTTPDate.parse($0) },
            age: headers.firstInteger(name: "age").map { Int64($0) }, requestTime: requestTime, responseTime: responseTime)
        let hasExplicitFreshness = origin.maxAge != nil || origin.sMaxAge != nil || expiresText != nil

        if let ttl = rule?.ttl {
            // The official's rule overrides the origin's freshness (micro-caching), but not cookies or passwords.
            guard StoredResponseFacts.heuristicallyCacheable.contains(status), status != 206 else {
                return .failure(RefusalReason("status \(status)"))
            }
            var cc = CacheControl()
            cc.maxAge = Int(ttl.components.seconds)
            cc.staleWhileRevalidate = rule?.staleWhileRevalidate.map { Int($0.components.seconds) }
            cc.staleIfError = origin.staleIfError
            facts.cacheControl = cc
            facts.age = nil
            facts.date = nil
            facts.expires = nil
            facts.expiresInvalid = false
            let verdict = Storability.check(
                method: "GET", status: status, response: cc, request: CacheControl(),
                hasAuthorization: requestHasAuthorization && !(rule?.shareAuthorized ?? false),
                setsCookie: setsCookie && !(rule?.stripCookies ?? false), hasExplicitFreshness: true,
                varyStar: varyNames == ["*"])
            if case .refuse(let why) = verdict { return .failure(RefusalReason(why)) }
            return .success(
                StorePlan(facts: facts, varyNames: varyNames, stripCookies: rule?.stripCookies ?? false, grace: seconds(policy.grace)))
        }

        let verdict = Storability.check(
            method: "GET", status: status, response: origin, request: CacheControl(),
            hasAuthorization: requestHasAuthorization && !(rule?.shareAuthorized ?? false),
            setsCookie: setsCookie && !(rule?.stripCookies ?? false), hasExplicitFreshness: hasExplicitFreshness,
            varyStar: varyNames == ["*"])
        if case .refuse(let why) = verdict { return .failure(RefusalReason(why)) }
        if !hasExplicitFreshness && facts.lastModified == nil && policy.defaultTTL > .zero && !origin.noCache {
            facts.cacheControl.maxAge = Int(policy.defaultTTL.components.seconds)
        }
        return .success(
            StorePlan(facts: facts, varyNames: varyNames, stripCookies: rule?.stripCookies ?? false, grace: seconds(policy.grace)))
    }

    static func seconds(_ d: Duration) -> Int64 { d.components.seconds }

    /// The header fields to store: without `Age`, `Set-Cookie` (when stripped) and framing; with the body's length.
    public func storedHeaders(_ headers: HeaderBlock, bodyLength: Int) -> HeaderBlock {
        var out = HeaderBlock(capacity: headers.bytes.readableBytes + 32)
        for (name, value) in headers {
            switch name.lowercased() {
            case "age", "transfer-encoding", "content-length", "connection", "keep-alive", "pnyx-cache", "warning":
                continue
            case "set-cookie" where stripCookies:
                continue
            default:
                _ = out.add(name: name, value: value)
            }
        }
        out.add(literalName: "content-length", value: String(bodyLength))
        return out
    }
}

/// Why a response was not stored (for logs and tests).
public struct RefusalReason: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
