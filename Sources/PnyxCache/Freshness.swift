/// What a shared cache knows about a stored response, and the arithmetic of RFC 9111 §4.2 on it: freshness
/// lifetime, current age, and whether it may be served fresh, stale while revalidating, or stale on error.
/// Pure: every time is passed in (seconds since the epoch), so tests use a fake clock.
public struct StoredResponseFacts: Sendable, Equatable {
    public var status: Int
    public var cacheControl: CacheControl
    /// `Date`, `Expires`, `Last-Modified` (parsed; nil if absent or invalid), `Age` (seconds).
    public var date: Int64?
    public var expires: Int64?
    /// `Expires` was present but not a valid date: the response is already stale (§5.3).
    public var expiresInvalid: Bool
    public var lastModified: Int64?
    public var age: Int64?
    /// When the request was sent and the response received (the cache's own clock).
    public var requestTime: Int64
    public var responseTime: Int64

    public init(
        status: Int, cacheControl: CacheControl, date: Int64? = nil, expires: Int64? = nil, expiresInvalid: Bool = false,
        lastModified: Int64? = nil, age: Int64? = nil, requestTime: Int64, responseTime: Int64
    ) {
        self.status = status
        self.cacheControl = cacheControl
        self.date = date
        self.expires = expires
        self.expiresInvalid = expiresInvalid
        self.lastModified = lastModified
        self.age = age
        self.requestTime = requestTime
        self.responseTime = responseTime
    }

    /// Statuses a cache may store and reuse with a heuristic lifetime (RFC 9110 §15.1).
    public static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]

    /// The freshness lifetime in seconds (§4.2.1): s-maxage, else max-age, else Expires − Date, else a heuristic
    /// of 10% of the time since Last-Modified (at most a day) for heuristically cacheable statuses, else 0.
    public var freshnessLifetime: Int64 {
        let cc = cacheControl
        if let sMaxAge = cc.sMaxAge { return Int64(sMaxAge) }
        if let maxAge = cc.maxAge { return Int64(maxAge) }
        if cc.invalidMaxAge || expiresInvalid { return 0 }
        if let expires {
            return max(0, expires - (date ?? responseTime))
        }
        if let lastModified, Self.heuristicallyCacheable.contains(status) {
            return min(86_400, max(0, ((date ?? responseTime) - lastModified) / 10))
        }
        return 0
    }

    /// The response's current age in seconds at `now` (§4.2.3).
    public func currentAge(now: Int64) -> Int64 {
        let apparentAge = max(0, responseTime - (date ?? responseTime))
        let responseDelay = responseTime - requestTime
        let correctedAgeValue = (age ?? 0) + responseDelay
        let correctedInitialAge = max(apparentAge, correctedAgeValue)
        return correctedInitialAge + (now - responseTime)
    }

    public func isFresh(now: Int64) -> Bool {
        !cacheControl.noCache && freshnessLifetime > currentAge(now: now)
    }

    /// How the cache may use the stored response at `now`.
    public enum Use: Sendable, Equatable {
        /// Fresh: serve it.
        case fresh
        /// Stale, but within `stale-while-revalidate`: serve it and refresh in the background.
        case staleWhileRevalidate
        /// Stale: ask the origin (conditionally); if the origin fails, `staleIfErrorUntil` says until when the
        /// stale response may stand in (nil: it may not).
        case revalidate(staleIfErrorUntil: Int64?)
    }

    /// - Parameter grace: the site's own serve-stale-on-error allowance in seconds (election-night mode), used
    ///   when the origin gave none; never beyond `must-revalidate` or `no-cache`.
    public func use(now: Int64, grace: Int64 = 0) -> Use {
        if isFresh(now: now) { return .fresh }
        let cc = cacheControl
        let mayServeStale = !cc.mustRevalidate && !cc.proxyRevalidate && !cc.noCache && cc.sMaxAge == nil
        let staleFor = currentAge(now: now) - freshnessLifetime
        if mayServeStale, let swr = cc.staleWhileRevalidate, staleFor <= Int64(swr) { return .staleWhileRevalidate }
        guard mayServeStale else { return .revalidate(staleIfErrorUntil: nil) }
        let allowance = max(Int64(cc.staleIfError ?? 0), grace)
        let staleSince = now - staleFor
        return .revalidate(staleIfErrorUntil: allowance > 0 ? staleSince + allowance : nil)
    }
}

/// Whether a shared cache may store a response (RFC 9111 §3, with Pnyx's stricter defaults).
public enum Storability {
    public enum Verdict: Sendable, Equatable {
        case store
        case refuse(String)
    }

    /// - Parameters:
    ///   - method: the request method; only GET and HEAD responses are stored.
    ///   - requestCacheControl: the request's directives (`no-store` there forbids storing).
    ///   - hasAuthorization: the request carried `Authorization`.
    ///   - setsCookie: the response has `Set-Cookie`.
    ///   - siteAllows: a site rule says to cache even so (micro-caching a page that sets a cookie, for example).
    public static func check(
        method: String, status: Int, response: CacheControl, request: CacheControl, hasAuthorization: Bool,
        setsCookie: Bool, hasExplicitFreshness: Bool, varyStar: Bool, siteAllows: Bool = false
    ) -> Verdict {
        guard method == "GET" || method == "HEAD" else { return .refuse("method \(method)") }
        guard status != 206 else { return .refuse("partial content") }
        if response.noStore || request.noStore { return .refuse("no-store") }
        if response.isPrivate && !siteAllows { return .refuse("private") }
        if varyStar { return .refuse("Vary: *") }
        if setsCookie && !siteAllows { return .refuse("sets a cookie") }
        if hasAuthorization && !siteAllows && !(response.isPublic || response.mustRevalidate || response.sMaxAge != nil) {
            return .refuse("request carried Authorization")
        }
        let explicit = hasExplicitFreshness || response.isPublic || siteAllows
        guard explicit || StoredResponseFacts.heuristicallyCacheable.contains(status) else {
            return .refuse("status \(status) without explicit freshness")
        }
        return .store
    }
}
