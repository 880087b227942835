/// When a site shows the bot challenge, and how hard it is (`challenge:` on a site).
///
/// The challenge is a proof-of-work page a browser solves on its own (no puzzle for the voter); solving it yields a
/// clearance cookie. It is shown only for GET and HEAD; other methods from clients without clearance are refused
/// or let through (`other_methods`). Voter-critical paths (`critical_paths`) and `exempt` paths never see it.
public struct ChallengePolicy: Sendable, Equatable {
    /// Challenge every GET/HEAD request without clearance (a site that knows it is under attack).
    public var underAttack = false
    /// Leading zero bits of SHA-256 the browser must find (each bit doubles the work); raised by 2 for each level
    /// of the site's escalation posture.
    public var difficulty = 16
    /// How long a clearance cookie lasts (at most a day: the signing keys rotate daily).
    public var clearance: Duration = .seconds(3600)
    /// Challenge the non-critical paths while escalation has the site at `under_attack`.
    public var onEscalation = true
    /// Paths always challenged (without clearance), whatever the posture.
    public var paths: [PathPattern] = []
    /// Paths never challenged (in addition to the site's `critical_paths`).
    public var exempt: [PathPattern] = []
    /// What a client without clearance gets for POST, PUT, … when the challenge would apply: refused (429) or
    /// let through.
    public var refuseOtherMethods = true
    /// The no-JavaScript path: a human without JavaScript waits this long, then is let through.
    public var noscriptWait: Duration = .seconds(5)
    /// At most this many no-JavaScript passes per client address prefix per 10 minutes.
    public var noscriptPerPrefix = 10
    /// Let verified search engines and web archives through (verified by reverse and forward DNS).
    public var goodBots = true
    /// Crawlers to verify besides the built-in ones.
    public var extraBots: [GoodBot] = []

    public init() {}

    /// Whether `path` is exempt (critical or listed).
    public func isExempt(_ path: Substring, site: SiteConfiguration) -> Bool {
        site.isCritical(path) || exempt.contains { $0.matches(path) }
    }
}

/// A crawler that is let through once DNS confirms it: its user agent says `userAgent`, the reverse name of its
/// address ends in one of `domains`, and that name resolves back to the address.
public struct GoodBot: Sendable, Equatable {
    public var name: String
    /// A case-insensitive substring of the User-Agent that claims to be this crawler.
    public var userAgent: String
    /// Domain suffixes its reverse DNS names end in (`googlebot.com`).
    public var domains: [String]

    public init(name: String, userAgent: String, domains: [String]) {
        self.name = name
        self.userAgent = userAgent
        self.domains = domains
    }

    /// Search engines and web archives an election site wants to be found and preserved by.
    public static let builtIn: [GoodBot] = [
        GoodBot(name: "Googlebot", userAgent: "googlebot", domains: ["googlebot.com", "google.com", "googleusercontent.com"]),
        GoodBot(name: "Bingbot", userAgent: "bingbot", domains: ["search.msn.com"]),
        GoodBot(name: "Internet Archive", userAgent: "archive.org_bot", domains: ["archive.org"]),
        GoodBot(name: "Internet Archive", userAgent: "ia_archiver", domains: ["archive.org", "alexa.com"]),
        GoodBot(name: "DuckDuckBot", userAgent: "duckduckbot", domains: ["duckduckgo.com"]),
        GoodBot(name: "Applebot", userAgent: "applebot", domains: ["applebot.apple.com"]),
        GoodBot(name: "YandexBot", userAgent: "yandexbot", domains: ["yandex.ru", "yandex.net", "yandex.com"]),
    ]
}

/// Where a filter reads a site's current posture (kept by the traffic-defense module).
public protocol PostureSource: AnyObject, Sendable {
    var posture: Posture { get }
}
