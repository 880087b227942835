/// A site's web application firewall settings (`waf:` globally and on a site; a site's keys override the global
/// ones). A new site runs the OWASP Core Rule Set at paranoia level 1 in blocking mode, with the native detectors
/// as a second opinion (`engine: both`).
public struct WAFPolicy: Sendable, Hashable {
    public enum Engine: String, Sendable, Equatable {
        /// The OWASP Core Rule Set, run by Pnyx's SecLang engine, scoring as CRS defines.
        case crs
        /// CRS, with Pnyx's native SQL detector as a second opinion on the CRS rules that fire on ordinary words
        /// (942350, 942360 and their kin: their points count only when the detector agrees) and a narrower reading of
        /// 920120 (a file name with an apostrophe); every other rule counts as CRS says. Fewer false positives on
        /// voters' free text at the same detection: see `bench/detection.sh`.
        case both
        /// Pnyx's native detectors alone (SQL injection, XSS, command injection, path traversal), without CRS:
        /// much cheaper, narrower.
        case native
        /// No WAF.
        case off
    }

    public enum Mode: String, Sendable, Equatable {
        /// Requests whose anomaly score reaches the threshold are refused (403 with the request's reference).
        case block
        /// Nothing is refused; what would have been is recorded as an alert.
        case detect
    }

    /// What happens to a request body longer than ``inspectBodyBytes``.
    public enum OverLimit: String, Sendable, Equatable {
        /// Refused with 413.
        case reject
        /// Sent to the origin uninspected, with an event.
        case pass
    }

    /// A rule (or tag) turned off for a path and/or some arguments: how staff fix a false positive.
    public struct Exclusion: Sendable, Hashable {
        /// CRS rule ids (or ranges) to exclude.
        public var ruleIDs: [ClosedRange<Int>] = []
        /// CRS tags (`attack-sqli`) to exclude.
        public var tags: [String] = []
        /// Only under this path prefix (nil: everywhere).
        public var pathPrefix: String?
        /// Only for these arguments (nil: the whole rule).
        public var arguments: [String] = []
        public init() {}
    }

    /// `both` by default: CRS's breadth with the native detector's precision on the rules that fire on prose.
    public var engine: Engine = .both
    public var mode: Mode = .block
    /// The CRS directory: its `rules/*.conf` are loaded (Debian's `modsecurity-crs` package by default).
    public var rulesDirectory = "/usr/share/modsecurity-crs"
    /// The CRS set-up file (`crs-setup.conf`); nil: the first of `/etc/modsecurity/crs/crs-setup.conf` and the
    /// rules directory's `crs-setup.conf.example` that exists.
    public var setupFile: String?
    /// More SecLang files loaded after CRS (site-specific exclusions written as ModSecurity rules).
    public var extraRules: [String] = []
    public var paranoiaLevel = 1
    public var inboundThreshold = 5
    public var outboundThreshold = 4
    public var exclusions: [Exclusion] = []
    /// The most request-body bytes held back and inspected.
    public var inspectBodyBytes = 1024 * 1024
    public var overLimit: OverLimit = .reject

    public init() {}
}
