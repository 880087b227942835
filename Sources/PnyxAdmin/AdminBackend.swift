import PnyxCore

/// What the admin listener needs from the rest of Pnyx. The executable provides it; the admin side never
/// touches the data path or a concrete store directly.
public protocol AdminBackend: Sendable {
    /// Re-reads the configuration file, builds a new pipeline, and swaps it in (or explains why not).
    func reload() async -> ReloadResult
    /// Recent security events, newest first.
    func recentEvents(limit: Int, site: String?) async throws -> [SecurityEvent]
    /// A summary for `GET /api/v1/status`.
    func status() async -> AdminStatus
    /// Prometheus text exposition of every metric.
    func metricsText() -> String
    /// Client addresses banned now, soonest to end first.
    func bans() -> [AdminBan]
    /// Lifts the ban on one address (or all, if nil); returns how many were lifted. Each is recorded as an event.
    func clearBans(address: String?) throws -> Int
    /// Removes stored responses of a site: the listed URLs, everything under `prefix`, or (neither) everything.
    /// Throws ``AdminInputError`` for an unknown site or a malformed URL.
    func purgeCache(site: String, urls: [String], prefix: String?) async throws -> Int
    /// Purges, then re-fetches and stores each URL (warming the edge before results are announced).
    func publish(site: String, urls: [String]) async throws -> [PublishOutcome]
}

/// What `POST /api/v1/cache/purge` takes.
public struct PurgeRequest: Sendable, Codable {
    public var site: String
    public var urls: [String]?
    public var prefix: String?
    public var all: Bool?
    public init(site: String, urls: [String]?, prefix: String?, all: Bool?) {
        self.site = site
        self.urls = urls
        self.prefix = prefix
        self.all = all
    }
}

/// What `POST /api/v1/cache/publish` takes.
public struct PublishRequest: Sendable, Codable {
    public var site: String
    public var urls: [String]
    public init(site: String, urls: [String]) {
        self.site = site
        self.urls = urls
    }
}

/// One URL's publish result: `stored`, `uncacheable`, `failed` or `busy`.
public struct PublishOutcome: Sendable, Codable, Equatable {
    public var url: String
    public var result: String
    public var detail: String
    public init(url: String, result: String, detail: String) {
        self.url = url
        self.result = result
        self.detail = detail
    }
}

/// A ban, as the admin API and `pnyx bans list` show it.
public struct AdminBan: Sendable, Codable, Equatable {
    public var address: String
    public var site: String
    public var reason: String
    /// ISO 8601 times.
    public var since: String
    public var until: String
    public var secondsLeft: Int
    public init(address: String, site: String, reason: String, since: String, until: String, secondsLeft: Int) {
        self.address = address
        self.site = site
        self.reason = reason
        self.since = since
        self.until = until
        self.secondsLeft = secondsLeft
    }
}

/// The request named something that is not a valid value (answered with 400 and the message).
public struct AdminInputError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

public struct ReloadResult: Sendable, Codable, Equatable {
    public var ok: Bool
    public var generation: Int
    public var errors: [String]
    public var warnings: [String]
    public init(ok: Bool, generation: Int, errors: [String] = [], warnings: [String] = []) {
        self.ok = ok
        self.generation = generation
        self.errors = errors
        self.warnings = warnings
    }
}

public struct AdminStatus: Sendable, Codable {
    public var version: String
    public var generation: Int
    public var sites: [String]
    public var eventsWritten: Int
    public var eventsDropped: Int
    public var eventsQueued: Int
    public init(version: String, generation: Int, sites: [String], eventsWritten: Int, eventsDropped: Int, eventsQueued: Int) {
        self.version = version
        self.generation = generation
        self.sites = sites
        self.eventsWritten = eventsWritten
        self.eventsDropped = eventsDropped
        self.eventsQueued = eventsQueued
    }
}
