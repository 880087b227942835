/// What Pnyx tells staff about on its own, and where (`alerts:` in the YAML).
public struct AlertSettings: Sendable, Equatable {
    /// Where alerts go. None: alerts are still recorded and shown on the dashboard, but not sent.
    public var destinations: [AlertDestination] = []
    /// The mail server email destinations send through.
    public var smtp: SMTPSettings?
    /// When a burst of refused requests is an alert.
    public var spike = SpikePolicy()
    /// The same alert (same site, kind and subject) is sent at most once in this window; repeats are counted and
    /// reported with the next one that goes out.
    public var repeatWindow: Duration = .seconds(600)
    /// A name for this node in every alert (a state's fleet has many); nil: the host name.
    public var node: String?

    public init() {}
}

/// How much an alert matters.
public enum AlertSeverity: Int, Sendable, Comparable, CaseIterable, Codable {
    case info, warning, critical

    public var name: String {
        switch self {
        case .info: "info"
        case .warning: "warning"
        case .critical: "critical"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What an alert is about.
public enum AlertKind: String, Sendable, CaseIterable, Codable {
    /// Refused requests well above the site's rolling baseline.
    case spike
    /// An origin failed (or passed again) its health check.
    case origin
    /// A page changed from its pinned content, or a new or changed script appeared.
    case integrity
    /// Automatic escalation changed a site's posture.
    case posture
    /// Sent by staff to check that delivery works.
    case test
}

/// One place alerts are sent, with what it wants to hear about.
public struct AlertDestination: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// An HTTP(S) URL that receives a JSON POST signed with HMAC-SHA256 of `secret`.
        case webhook(url: String, secret: String)
        /// Mail to these addresses through `alerts.smtp`.
        case email(to: [String])
    }

    public var target: Target
    /// Only these sites' alerts; nil: every site's (a state team) .
    public var sites: [String]?
    /// Only these kinds; nil: all.
    public var kinds: Set<AlertKind>?
    /// Alerts below this are not sent here.
    public var minimumSeverity: AlertSeverity = .info

    public init(target: Target, sites: [String]? = nil, kinds: Set<AlertKind>? = nil, minimumSeverity: AlertSeverity = .info) {
        self.target = target
        self.sites = sites
        self.kinds = kinds
        self.minimumSeverity = minimumSeverity
    }

    /// A name for logs and the dashboard (never the secret).
    public var label: String {
        switch target {
        case .webhook(let url, _): "webhook \(url)"
        case .email(let to): "email \(to.joined(separator: ", "))"
        }
    }

    /// Whether an alert about `site` of `kind` at `severity` goes here. A test alert goes everywhere.
    public func wants(site: String, kind: AlertKind, severity: AlertSeverity) -> Bool {
        if kind == .test { return true }
        if severity < minimumSeverity { return false }
        if let kinds, !kinds.contains(kind) { return false }
        if let sites, !site.isEmpty, !sites.contains(site) { return false }
        return true
    }
}

/// The mail server alerts are sent through.
public struct SMTPSettings: Sendable, Equatable {
    public enum Security: String, Sendable, Equatable, CaseIterable {
        /// Plain connection upgraded with STARTTLS (port 587); refuses to send if the server cannot.
        case starttls
        /// TLS from the first byte (port 465).
        case tls
        /// No encryption (a local relay on loopback).
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    public var from: String
    /// Extra trust roots (PEM) for a server with a private certificate authority.
    public var caFile: String?

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, from: String, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.caFile = caFile
    }
}

/// When refused requests at a site are a spike: over the last `window`, at least `minimum` and at least `factor`
/// times the average per window over the preceding `baseline`.
public struct SpikePolicy: Sendable, Equatable {
    public var enabled = true
    public var window: Duration = .seconds(300)
    public var baseline: Duration = .seconds(3600)
    public var factor: Double = 5
    public var minimum: Int = 100
    /// After a spike ends, another spike alert for the site waits this long.
    public var cooldown: Duration = .seconds(1800)

    public init() {}
}
