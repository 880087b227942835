import NIOHTTP1

/// Addresses that are always let through, and addresses that are refused (global or per site).
/// Allow wins over everything, including deny, rate limits and later protections: an administrator must never be
/// able to lock themselves out.
///
/// Country rules need a MaxMind-format database (`geoip.database`). `denyCountries` refuses clients located in
/// those countries; a non-empty `allowCountries` refuses clients located anywhere else. A client the database
/// cannot place (private ranges, gaps) is never refused by a country rule.
public struct AccessRules: Sendable, Equatable {
    public var allow: [CIDR]
    public var deny: [CIDR]
    public var allowCountries: [CountryCode]
    public var denyCountries: [CountryCode]

    public init(allow: [CIDR] = [], deny: [CIDR] = [], allowCountries: [CountryCode] = [], denyCountries: [CountryCode] = []) {
        self.allow = allow
        self.deny = deny
        self.allowCountries = allowCountries
        self.denyCountries = denyCountries
    }

    public var hasCountryRules: Bool { !allowCountries.isEmpty || !denyCountries.isEmpty }
    public var isEmpty: Bool { allow.isEmpty && deny.isEmpty && !hasCountryRules }
}

/// One rate-limit rule of a site, in the shape election IT staff know from Cloudflare: which requests it counts,
/// what it counts them by, the budget per period, and what happens beyond it.
public struct RateLimitRule: Sendable, Equatable {
    public enum Key: Sendable, Equatable {
        /// The client address (after trusted proxies).
        case ip
        /// The client address and the request path.
        case ipAndPath
        /// A request header's value (e.g. an API key); requests without it are not counted.
        case header(String)
        /// A cookie's value; requests without it are not counted.
        case cookie(String)
        /// The whole site: one budget for everybody.
        case site
    }

    public enum Action: String, Sendable, Equatable {
        /// 429 with `Retry-After`.
        case block
        /// Count and record an event, let the request through (to tune a rule before enforcing it).
        case log
        /// Show the bot challenge to browsers without clearance (JSON clients get 429); cleared clients pass.
        case challenge
    }

    public var name: String
    /// Path prefix the rule applies to (`/` for every path).
    public var pathPrefix: String
    /// Methods the rule applies to; empty means every method.
    public var methods: [HTTPMethod]
    public var key: Key
    /// Requests allowed per `period` (1…65535).
    public var requests: Int
    public var period: Duration
    public var action: Action
    /// Once over budget, the key stays blocked this long (at least until the window slides below the budget).
    public var timeout: Duration
    /// Count only requests that reach the origin (not those answered by Pnyx: blocked, or from the cache), so the
    /// budget protects the origin rather than limiting what Pnyx itself serves.
    public var countOriginOnly: Bool = false

    public init(
        name: String, pathPrefix: String = "/", methods: [HTTPMethod] = [], key: Key = .ip, requests: Int,
        period: Duration, action: Action = .block, timeout: Duration = .zero, countOriginOnly: Bool = false
    ) {
        self.countOriginOnly = countOriginOnly
        self.name = name
        self.pathPrefix = pathPrefix
        self.methods = methods
        self.key = key
        self.requests = requests
        self.period = period
        self.action = action
        self.timeout = timeout
    }

    /// The rule every site gets unless it lists its own: 6000 requests per minute per client address (100 a
    /// second on average: room for an office of poll workers behind one address loading pages with all their
    /// assets, far below a single-source flood), blocked for one minute once exceeded.
    public static let siteDefault = RateLimitRule(
        name: "default-per-ip", key: .ip, requests: 6000, period: .seconds(60), action: .block, timeout: .seconds(60))
}

/// When a client is banned: after `after` strikes within `within` it is refused for `duration` on every site of
/// the node. A strike is a request a protection blocked (rate limit, deny list, WAF, …) or, if listed, a
/// response with one of `statuses` (e.g. 404 for scanners). Allow-listed clients are never banned.
public struct BanPolicy: Sendable, Equatable {
    public var enabled: Bool
    public var after: Int
    public var within: Duration
    public var duration: Duration
    public var statuses: [Int]

    public init(
        enabled: Bool = true, after: Int = 30, within: Duration = .seconds(60), duration: Duration = .seconds(600),
        statuses: [Int] = []
    ) {
        self.enabled = enabled
        self.after = after
        self.within = within
        self.duration = duration
        self.statuses = statuses
    }
}

/// An ISO 3166-1 alpha-2 country code (`US`, `MX`), stored as two upper-case ASCII letters.
public struct CountryCode: Hashable, Sendable, CustomStringConvertible {
    public let first: UInt8
    public let second: UInt8

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 2 else { return nil }
        self.init(bytes[0], bytes[1])
    }

    public init?(_ a: UInt8, _ b: UInt8) {
        func upper(_ c: UInt8) -> UInt8? {
            switch c {
            case 65...90: return c
            case 97...122: return c - 32
            default: return nil
            }
        }
        guard let a = upper(a), let b = upper(b) else { return nil }
        first = a
        second = b
    }

    public var description: String { String(decoding: [first, second], as: UTF8.self) }
}
