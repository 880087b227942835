import PnyxControl
import PnyxCore

/// What the admin listener needs from the rest of Pnyx. The executable provides it; the admin side never
/// touches the data path or a concrete store directly.
public protocol AdminBackend: IntegrityAdmin {
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
    /// Bans an address on every site of this node for `seconds` (recorded as an event); throws
    /// ``AdminInputError`` for a malformed address or duration, or an address already banned.
    func addBan(address: String, seconds: Int, reason: String, by: String) throws -> AdminBan
    /// Lifts the ban on one address (or all, if nil); returns how many were lifted. Each is recorded as an event.
    func clearBans(address: String?) throws -> Int
    /// Removes stored responses of a site: the listed URLs, everything under `prefix`, or (neither) everything.
    /// Throws ``AdminInputError`` for an unknown site or a malformed URL.
    func purgeCache(site: String, urls: [String], prefix: String?) async throws -> Int
    /// Purges, then re-fetches and stores each URL (warming the edge before results are announced).
    func publish(site: String, urls: [String]) async throws -> [PublishOutcome]
    /// Every configured site as staff see it now.
    func siteSummaries() -> [AdminSite]
    /// Rebuilds the pipeline with the stored site settings (the same atomic swap as a reload).
    func applySettings() async -> ReloadResult
    /// Stored events matching a query, newest first.
    func queryEvents(_ query: EventQuery) async throws -> [StoredEvent]
    /// Events per day, site, filter and action.
    func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount]
    /// Requests and refusals per day and site (counts still in memory are recorded first).
    func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount]
    /// Where alerts are sent (no secrets), in configuration order.
    func alertDestinations() -> [String]
    /// Sends a test alert to every destination now, waits for the outcome and records it.
    func sendTestAlert(requestedBy: String) async -> AlertRecord
    /// The most frequent clients, rules or paths among refusals.
    func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue]
    /// The countries (ISO codes, `unknown` for addresses the database does not place) refusals came from, most
    /// first; nil when no country database is configured.
    func topCountries(sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue]?
}

extension AdminBackend {
    public func topCountries(sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue]? { nil }
}

/// A site as the dashboard and `GET /api/v1/sites` show it.
public struct AdminSite: Sendable, Codable, Equatable {
    public var name: String
    public var hosts: [String]
    public var underAttack: Bool
    /// Where under-attack mode comes from: `config` (the YAML) or `dashboard` (a stored setting).
    public var underAttackSource: String
    /// `normal`, `elevated` or `under_attack` (automatic escalation).
    public var posture: String
    public var wafEngine: String
    public var wafMode: String
    public var wafModeSource: String
    public var origins: [AdminOrigin]
    /// Share of cacheable requests answered from cache since start (nil before any).
    public var cacheHitRatio: Double?
    public var challengesIssued: Int
    public var challengesSolved: Int
    /// The factor on every rate-limit budget set from the dashboard or API (nil: the YAML's budgets).
    public var rateLimitScale: Double? = nil
    /// WAF exclusions added from the dashboard or API (``PnyxCore/WAFPolicy/Exclusion/line`` form).
    public var addedWAFExclusions: [String] = []
    public init(
        name: String, hosts: [String], underAttack: Bool, underAttackSource: String, posture: String, wafEngine: String,
        wafMode: String, wafModeSource: String, origins: [AdminOrigin], cacheHitRatio: Double?, challengesIssued: Int,
        challengesSolved: Int
    ) {
        self.name = name
        self.hosts = hosts
        self.underAttack = underAttack
        self.underAttackSource = underAttackSource
        self.posture = posture
        self.wafEngine = wafEngine
        self.wafMode = wafMode
        self.wafModeSource = wafModeSource
        self.origins = origins
        self.cacheHitRatio = cacheHitRatio
        self.challengesIssued = challengesIssued
        self.challengesSolved = challengesSolved
    }
}

public struct AdminOrigin: Sendable, Codable, Equatable {
    public var address: String
    /// nil when the site has no health check.
    public var up: Bool?
    public init(address: String, up: Bool?) {
        self.address = address
        self.up = up
    }
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

/// The integrity part of the admin API (pinned pages, pending versions, signing).
public protocol IntegrityAdmin: Sendable {
    /// A site's baselines, pending versions and signing state. Throws ``AdminInputError`` for an unknown site.
    func integrityStatus(site: String) throws -> IntegrityStatus
    /// Fetches each path from the origin and makes it the approved version (following links to `depth`).
    func pin(site: String, paths: [String], depth: Int) async throws -> [PinResult]
    /// Makes the version held for approval the baseline of `path`.
    func approve(site: String, path: String) async throws -> IntegrityBaseline
    /// Discards the version of `path` held for approval. Returns whether one was held.
    func reject(site: String, path: String) async throws -> Bool
    /// Stops comparing `path`. Returns whether it was pinned.
    func unpin(site: String, path: String) async throws -> Bool
    /// The site's script inventory.
    func scripts(site: String) throws -> [InventoryScript]
    /// Approves scripts by id (or every one not flagged, with nil). Returns how many.
    func approveScripts(site: String, ids: [String]?) throws -> Int
}

/// A script in a site's inventory, as the admin API shows it.
public struct InventoryScript: Sendable, Codable, Equatable {
    public var id: String
    public var kind: String
    public var host: String?
    public var thirdParty: Bool
    public var contentHash: String?
    public var firstSeen: String
    public var lastSeen: String
    public var pages: [String]
    public var approved: Bool
    public var flagged: String?
    public var source: String
    public init(
        id: String, kind: String, host: String?, thirdParty: Bool, contentHash: String?, firstSeen: String, lastSeen: String,
        pages: [String], approved: Bool, flagged: String?, source: String
    ) {
        self.id = id
        self.kind = kind
        self.host = host
        self.thirdParty = thirdParty
        self.contentHash = contentHash
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.pages = pages
        self.approved = approved
        self.flagged = flagged
        self.source = source
    }
}

/// What `POST /api/v1/integrity/scripts/approve` takes: `ids`, or `all: true` (every script not flagged).
public struct ApproveScriptsRequest: Sendable, Codable {
    public var site: String
    public var ids: [String]?
    public var all: Bool?
    public init(site: String, ids: [String]?, all: Bool?) {
        self.site = site
        self.ids = ids
        self.all = all
    }
}

/// What `POST /api/v1/integrity/pin` takes.
public struct PinRequest: Sendable, Codable {
    public var site: String
    public var paths: [String]
    public var depth: Int?
    public init(site: String, paths: [String], depth: Int?) {
        self.site = site
        self.paths = paths
        self.depth = depth
    }
}

/// What `POST /api/v1/integrity/approve` and `/unpin` take.
public struct PathRequest: Sendable, Codable {
    public var site: String
    public var path: String
    public init(site: String, path: String) {
        self.site = site
        self.path = path
    }
}

public struct PinResult: Sendable, Codable, Equatable {
    public var path: String
    /// `pinned`, `failed` or `skipped`.
    public var result: String
    public var detail: String
    public init(path: String, result: String, detail: String) {
        self.path = path
        self.result = result
        self.detail = detail
    }
}

public struct IntegrityBaseline: Sendable, Codable, Equatable {
    public var path: String
    public var mode: String
    public var contentType: String
    public var digest: String
    public var size: Int
    /// ISO 8601.
    public var approvedAt: String
    public var approvedBy: String
    public init(path: String, mode: String, contentType: String, digest: String, size: Int, approvedAt: String, approvedBy: String) {
        self.path = path
        self.mode = mode
        self.contentType = contentType
        self.digest = digest
        self.size = size
        self.approvedAt = approvedAt
        self.approvedBy = approvedBy
    }
}

public struct IntegrityPending: Sendable, Codable, Equatable {
    public var path: String
    public var digest: String
    public var size: Int
    public var firstSeen: String
    public var lastSeen: String
    public var seen: Int
    public init(path: String, digest: String, size: Int, firstSeen: String, lastSeen: String, seen: Int) {
        self.path = path
        self.digest = digest
        self.size = size
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.seen = seen
    }
}

public struct IntegrityStatus: Sendable, Codable, Equatable {
    public var site: String
    public var mode: String
    public var signedPaths: [String]
    /// The signing key's id, once the site signs anything.
    public var keyid: String?
    public var logSize: Int
    public var baselines: [IntegrityBaseline]
    public var pending: [IntegrityPending]
    public init(site: String, mode: String, signedPaths: [String], keyid: String?, logSize: Int, baselines: [IntegrityBaseline], pending: [IntegrityPending]) {
        self.site = site
        self.mode = mode
        self.signedPaths = signedPaths
        self.keyid = keyid
        self.logSize = logSize
        self.baselines = baselines
        self.pending = pending
    }
}
