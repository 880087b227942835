/// What the cache did for a request: sent to the client as `Pnyx-Cache`, logged, and counted.
public enum CacheStatus: String, Sendable, CaseIterable {
    /// Served from cache, fresh (or from a fill another request made while this one waited).
    case hit = "HIT"
    /// Not in cache: fetched from the origin (and stored if it may be).
    case miss = "MISS"
    /// Served from cache past its freshness: the origin failed, or a background refresh is running.
    case stale = "STALE"
    /// The cache was not used (a rule, a method, a request that must not be shared).
    case bypass = "BYPASS"
    /// In cache but expired with nothing to revalidate with: fetched again.
    case expired = "EXPIRED"
    /// In cache but expired; the origin said it is unchanged (304), so the stored copy was served.
    case revalidated = "REVALIDATED"
    /// The origin failed and nothing was cached: served from the site's emergency static pages.
    case `static` = "STATIC"
}

/// A URL path pattern: `/results/**` (the path and anything below), `/assets/*.js` (`*` stays inside one
/// segment), or an exact path.
public struct PathPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let pattern: [UInt8]

    public init?(_ text: String) {
        guard text.hasPrefix("/") else { return nil }
        self.text = text
        self.pattern = Array(text.utf8)
    }

    public var description: String { text }

    /// Whether `path` (without the query) matches.
    public func matches(_ path: Substring) -> Bool {
        let utf8 = Array(path.utf8)
        // `/results/**` also matches `/results`.
        if pattern.count >= 3, pattern.suffix(3).elementsEqual("/**".utf8), utf8.elementsEqual(pattern.dropLast(3)) {
            return true
        }
        return Self.match(pattern[...], utf8[...])
    }

    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        var p = p
        var s = s
        while let c = p.first {
            if c == UInt8(ascii: "*") {
                let double = p.count >= 2 && p[p.startIndex + 1] == UInt8(ascii: "*")
                let rest = p.dropFirst(double ? 2 : 1)
                if rest.isEmpty { return double || !s.contains(UInt8(ascii: "/")) }
                var t = s
                while true {
                    if match(rest, t) { return true }
                    guard let first = t.first, double || first != UInt8(ascii: "/") else { return false }
                    t = t.dropFirst()
                }
            }
            guard let first = s.first, first == c else { return false }
            p = p.dropFirst()
            s = s.dropFirst()
        }
        return s.isEmpty
    }
}

/// A site's cache rule: what to do with requests whose path matches.
public struct CacheRule: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Cache as the origin says, or for `ttl` whatever the origin says (micro-caching).
        case cache
        /// Never use the cache for these paths (forms, personal pages).
        case bypass
    }
    public var path: PathPattern
    public var action: Action = .cache
    /// Freshness to use instead of the origin's (`no-cache`, `private`, `max-age` are overridden).
    public var ttl: Duration?
    /// How long past `ttl` a stored copy is served while one background request refreshes it.
    public var staleWhileRevalidate: Duration?
    /// Cache even responses that set cookies: the `Set-Cookie` fields are removed from the stored copy and from
    /// the response, so no visitor ever receives another's cookie.
    public var stripCookies = false
    /// Share responses to requests that carry `Authorization` (a site with a password for everyone).
    public var shareAuthorized = false
    /// Key on the path only: `?utm_source=…` variants share one copy.
    public var ignoreQuery = false

    public init(path: PathPattern, action: Action = .cache, ttl: Duration? = nil) {
        self.path = path
        self.action = action
        self.ttl = ttl
    }
}

/// A site's cache settings (`cache:` in a site).
public struct CachePolicy: Sendable, Equatable {
    /// `cache: off` turns the cache off for the site (every response says `Pnyx-Cache: BYPASS`).
    public var enabled = true
    /// Freshness for responses the origin gave none for (no `max-age`, `Expires`, `Last-Modified`); 0 stores none.
    public var defaultTTL: Duration = .zero
    /// How long past freshness a stored copy may stand in when the origin fails (connect error, timeout, 5xx,
    /// marked down by its health check). Never used for `must-revalidate` or `no-cache` responses.
    public var grace: Duration = .seconds(3600)
    /// How long a request for an object already being fetched waits for that fetch before being served stale
    /// (if there is a stale copy) or going to the origin itself.
    public var coalesceWait: Duration = .seconds(10)
    /// Adds `Warning: 110 - "Response is Stale"` to stale responses (some monitoring looks for it).
    public var staleWarning = true
    /// Rules, first match wins.
    public var rules: [CacheRule] = []

    public init() {}

    /// The first rule whose pattern matches `path`.
    public func rule(for path: Substring) -> CacheRule? {
        rules.first { $0.path.matches(path) }
    }
}

/// An active health check of a site's origins: `GET path` every `interval`; `fails` failures in a row mark an
/// origin down, `passes` successes mark it up again. A 2xx or 3xx answer within `timeout` is a success.
public struct HealthCheckPolicy: Sendable, Equatable {
    public var path: String = "/"
    public var interval: Duration = .seconds(5)
    public var timeout: Duration = .seconds(2)
    public var fails = 2
    public var passes = 2
    public init() {}
}

/// Node-wide cache settings (`cache:` at the top level).
public struct CacheSettings: Sendable, Equatable {
    /// The memory tier's bound: stored bodies and headers.
    public var memoryBytes: Int64 = 256 << 20
    /// Responses larger than this are passed through, not stored.
    public var maxObjectBytes: Int64 = 8 << 20
    /// The disk tier's bound (stored under `<data_dir>/cache`); nil: no disk tier.
    public var diskBytes: Int64? = 1 << 30
    public init() {}
}
