import PnyxCore

/// The whole of a decoded, validated configuration file.
public struct PnyxConfiguration: Sendable, Equatable {
    /// Plain-HTTP listeners.
    public var httpListeners: [ListenAddress]
    /// HTTPS listeners (HTTP/2 and HTTP/1.1 by ALPN; certificate chosen by SNI).
    public var httpsListeners: [ListenAddress]
    public var admin: AdminConfiguration
    /// Where Pnyx keeps its state (SQLite database, admin token).
    public var dataDirectory: String
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed.
    public var trustedProxies: [CIDR]
    /// Allow and deny lists for every site (each site can add its own).
    public var access = AccessRules()
    /// The MaxMind-format country database for country rules (`geoip.database`), if any.
    public var geoipDatabase: String?
    /// When clients are banned for repeated refused requests (node-wide).
    public var bans = BanPolicy()
    /// The response cache's memory bound and largest object.
    public var cache = CacheSettings()
    /// The secret the challenge signs with (`challenge.key_file`); nil: `<data_dir>/challenge.key`, made on
    /// first start. Nodes of a fleet that share clearance cookies share this file.
    public var challengeKeyFile: String?
    /// The global `waf:` section: every site starts from it.
    public var waf = WAFPolicy()
    /// What is sent to staff on its own (spikes, origin down, integrity, posture) and where.
    public var alerts = AlertSettings()
    /// Several nodes sharing one PostgreSQL database; nil: this node alone, on SQLite in the data directory.
    public var fleet: FleetSettings?
    /// A site that answers requests for unknown hosts (otherwise 421).
    public var defaultSite: SiteName?
    public var limits: GlobalLimits
    public var accessLog: AccessLogConfiguration
    public var events: EventsConfiguration
    public var sites: [SiteConfiguration]
    /// Event-loop threads for the data path; `nil` means one per CPU core (like nginx's `worker_processes auto`).
    public var workers: Int?

    public init(
        httpListeners: [ListenAddress] = [], httpsListeners: [ListenAddress] = [],
        admin: AdminConfiguration = AdminConfiguration(), dataDirectory: String = PnyxConfiguration.defaultDataDirectory,
        trustedProxies: [CIDR] = [], defaultSite: SiteName? = nil, limits: GlobalLimits = GlobalLimits(),
        accessLog: AccessLogConfiguration = AccessLogConfiguration(), events: EventsConfiguration = EventsConfiguration(),
        sites: [SiteConfiguration] = []
    ) {
        self.httpListeners = httpListeners
        self.httpsListeners = httpsListeners
        self.admin = admin
        self.dataDirectory = dataDirectory
        self.trustedProxies = trustedProxies
        self.defaultSite = defaultSite
        self.limits = limits
        self.accessLog = accessLog
        self.events = events
        self.sites = sites
    }

    public static let defaultDataDirectory = "/var/lib/pnyx"
}

public struct AdminConfiguration: Sendable, Equatable {
    /// The admin API and metrics listener. Loopback by default.
    public var listen: ListenAddress?
    public init(listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9901)) {
        self.listen = listen
    }
}

/// Limits applied before a site is known, and defaults for every site.
public struct GlobalLimits: Sendable, Equatable {
    /// Largest request head (request line plus headers).
    public var maxHeaderBytes: Int
    /// Largest request target (path and query).
    public var maxURIBytes: Int
    /// Time a client has to send a whole request head once it has started (slowloris defence).
    public var headerReadTimeout: Duration
    /// Time an idle keep-alive connection is kept open.
    public var idleTimeout: Duration
    /// Time in-flight requests get to finish on shutdown.
    public var shutdownDrainTimeout: Duration
    /// Open client connections allowed at once, overall and per client address (a trusted proxy counts only
    /// toward the overall limit). Beyond them a new connection is closed at once.
    public var maxConnections: Int = 20_000
    public var maxConnectionsPerIP: Int = 256
    /// Slow-client defence (per HTTP/1 connection and per HTTP/2 stream): after `slowRateGrace`, a request body must arrive at `minBodyRate` bytes per
    /// second on average; a response the client is not reading (the connection's write buffer full) must drain
    /// each 32 KiB within `slowRateGrace` plus 32 KiB at `minSendRate`. Otherwise the connection is closed (408
    /// if no response was started). 0 turns a check off.
    public var minBodyRate: Int = 1024
    public var minSendRate: Int = 1024
    public var slowRateGrace: Duration = .seconds(10)
    public var http2 = HTTP2Limits()
    /// Defaults for sites that do not say otherwise.
    public var site: SiteLimits

    public init(
        maxHeaderBytes: Int = 32 * 1024, maxURIBytes: Int = 8 * 1024, headerReadTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60), shutdownDrainTimeout: Duration = .seconds(30),
        site: SiteLimits = SiteLimits()
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxURIBytes = maxURIBytes
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.shutdownDrainTimeout = shutdownDrainTimeout
        self.site = site
    }
}

public struct AccessLogConfiguration: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case off
        case standardOutput
        case file(String)
    }
    public var destination: Destination
    public init(destination: Destination = .standardOutput) { self.destination = destination }
}

public struct EventsConfiguration: Sendable, Equatable {
    /// Events waiting for the store beyond this many are dropped (and counted).
    public var queueCapacity: Int
    public init(queueCapacity: Int = 10_000) { self.queueCapacity = queueCapacity }
}

/// HTTP/2 connection limits and the abuse limits of NIOHTTP2 (rapid reset, CONTINUATION floods, control-frame
/// floods, "glitches"). A connection that crosses one is closed.
public struct HTTP2Limits: Sendable, Equatable {
    /// Streams a client may have open at once on one connection (sent in SETTINGS).
    public var maxConcurrentStreams = 100
    /// Stream resets (RST_STREAM from the client) allowed per window: the rapid-reset defence (CVE-2023-44487).
    public var maxStreamResets = 200
    public var streamResetWindow: Duration = .seconds(30)
    /// CONTINUATION frames allowed in a row (CONTINUATION flood defence).
    public var maxContinuationFrames = 5
    /// PING, SETTINGS and PRIORITY frames allowed per window.
    public var maxControlFrames = 200
    public var controlFrameWindow: Duration = .seconds(30)
    /// Protocol "glitches" (suspicious but legal events) allowed per connection.
    public var maxGlitches = 200
    public init() {}
}
