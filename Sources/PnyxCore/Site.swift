/// A site's name as written in the configuration (`county`, `state-results`).
public struct SiteName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One election site behind Pnyx: the hosts it answers, the origins it forwards to, and its limits.
public struct SiteConfiguration: Sendable, Equatable {
    public var name: SiteName
    /// Lower-case host names without port. A leading `*.` matches any subdomain.
    public var hosts: [String]
    public var origins: [OriginAddress]
    public var tls: TLSFiles?
    public var limits: SiteLimits
    /// Adds `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options` (and HSTS over HTTPS) when the origin
    /// did not set them.
    public var securityHeaders: Bool
    /// `Strict-Transport-Security` max-age sent over HTTPS; `nil` sends none.
    public var hstsMaxAge: Duration?
    /// This site's allow and deny lists (the global ones apply too).
    public var access: AccessRules
    /// Rate-limit rules, checked in order; the first that is over budget decides.
    public var rateLimits: [RateLimitRule]
    /// Path prefixes voters must always reach (registration, polling-place lookup, results): escalation never
    /// tightens or hard-blocks them; only their own per-client limits apply.
    public var criticalPaths: [String] = []
    /// When the site's posture is raised and lowered automatically.
    public var escalation = EscalationPolicy()
    /// How responses are cached, and served stale when the origin fails.
    public var cache = CachePolicy()
    /// Active health checks of the origins (nil: none; origins are then judged by the requests that fail).
    public var healthCheck: HealthCheckPolicy?
    /// A directory of static pages served when the origin is down and nothing is cached (emergency mode).
    public var staticFallback: String?
    /// When the bot challenge is shown.
    public var challenge = ChallengePolicy()
    /// Signed results and pinned pages.
    public var integrity = IntegrityPolicy()
    /// The web application firewall (OWASP CRS).
    public var waf = WAFPolicy()
    /// The public status page (off unless configured).
    public var statusPage: StatusPagePolicy?

    /// Whether `path` is under one of the site's voter-critical prefixes.
    public func isCritical(_ path: Substring) -> Bool {
        criticalPaths.contains { path.hasPrefix($0) }
    }

    public init(
        name: SiteName, hosts: [String], origins: [OriginAddress], tls: TLSFiles? = nil,
        limits: SiteLimits = SiteLimits(), securityHeaders: Bool = true, hstsMaxAge: Duration? = nil,
        access: AccessRules = AccessRules(), rateLimits: [RateLimitRule] = [RateLimitRule.siteDefault]
    ) {
        self.access = access
        self.rateLimits = rateLimits
        self.name = name
        self.hosts = hosts
        self.origins = origins
        self.tls = tls
        self.limits = limits
        self.securityHeaders = securityHeaders
        self.hstsMaxAge = hstsMaxAge
    }
}

/// Limits that can differ per site.
public struct SiteLimits: Sendable, Equatable {
    /// Largest request body accepted (413 beyond). Bodies are streamed, never buffered whole.
    public var maxBodyBytes: Int64
    /// Time allowed to open a TCP connection to an origin (502 beyond).
    public var upstreamConnectTimeout: Duration
    /// Time allowed between sending the request and the origin's response head (504 beyond).
    public var upstreamResponseTimeout: Duration
    /// Most cookies a request may carry (431 beyond). Browsers keep at most 150–180 per site; the WAF runs its
    /// rules on every cookie, so thousands of tiny ones in a 32 KiB head would cost a hundred milliseconds of CPU.
    public var maxCookies: Int

    public init(
        maxBodyBytes: Int64 = 10 * 1024 * 1024,
        upstreamConnectTimeout: Duration = .seconds(5),
        upstreamResponseTimeout: Duration = .seconds(60),
        maxCookies: Int = 200
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.upstreamConnectTimeout = upstreamConnectTimeout
        self.upstreamResponseTimeout = upstreamResponseTimeout
        self.maxCookies = maxCookies
    }
}

/// Certificate chain and private key files (PEM) for a site's HTTPS hosts.
public struct TLSFiles: Sendable, Equatable {
    public var certificatePath: String
    public var keyPath: String
    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// An origin server: `http://host:port`. (HTTPS to origins is not supported yet.)
public struct OriginAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
    /// `Host` header value for the origin when it must be named (host:port).
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? h : "\(h):\(port)"
    }
}

/// A TCP address to listen on: `127.0.0.1:8080`, `[::]:443`, `:8080` (all interfaces).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port`, `[v6]:port` or `:port`.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        self.init(host: host, port: port)
    }
}
