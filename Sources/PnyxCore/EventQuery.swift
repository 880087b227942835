/// A search of stored security events (admin API, dashboard, reports). Every field narrows; nil means any.
public struct EventQuery: Sendable, Equatable {
    /// The sites to search; nil means every site.
    public var sites: [String]?
    /// The filter that made the event (`waf`, `rate_limit`, `ban`, …): the attack kind.
    public var filter: String?
    public var action: SecurityEvent.Action?
    public var client: String?
    /// Events whose rule contains this text.
    public var rule: String?
    /// Milliseconds since the epoch, inclusive start and exclusive end.
    public var fromMillis: Int64?
    public var toMillis: Int64?
    /// For paging: only events older than this id.
    public var beforeID: Int64?
    /// The reference a voter quotes from a block page.
    public var requestID: String?
    public var limit: Int

    public init(
        sites: [String]? = nil, filter: String? = nil, action: SecurityEvent.Action? = nil, client: String? = nil,
        rule: String? = nil, fromMillis: Int64? = nil, toMillis: Int64? = nil, beforeID: Int64? = nil, limit: Int = 100
    ) {
        self.sites = sites
        self.filter = filter
        self.action = action
        self.client = client
        self.rule = rule
        self.fromMillis = fromMillis
        self.toMillis = toMillis
        self.beforeID = beforeID
        self.limit = limit
    }
}

/// An event with its store id (for paging and links).
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    public var event: SecurityEvent
    public init(id: Int64, event: SecurityEvent) {
        self.id = id
        self.event = event
    }
}

/// Events of one kind on one UTC day: the unit of the charts and reports.
public struct EventCount: Sendable, Equatable, Codable {
    /// `YYYY-MM-DD`, UTC.
    public var day: String
    public var site: String
    public var filter: String
    public var action: String
    public var count: Int
    public init(day: String, site: String, filter: String, action: String, count: Int) {
        self.day = day
        self.site = site
        self.filter = filter
        self.action = action
        self.count = count
    }
}

/// How often a value (client address, rule) appears among events.
public struct RankedValue: Sendable, Equatable, Codable {
    public var value: String
    public var count: Int
    public init(value: String, count: Int) {
        self.value = value
        self.count = count
    }
}

/// Which field of refusals to rank.
public enum RankedColumn: String, Sendable { case client, rule, path }

/// Requests a site served and refused in a period (an hour when stored, a day when read back).
public struct TrafficCount: Sendable, Equatable, Codable {
    /// `YYYY-MM-DD` (UTC) when read per day; empty when written.
    public var day: String
    public var site: String
    /// The period's start, milliseconds since the epoch.
    public var startMillis: Int64
    public var requests: Int
    public var blocked: Int
    public init(day: String = "", site: String, startMillis: Int64, requests: Int, blocked: Int) {
        self.day = day
        self.site = site
        self.startMillis = startMillis
        self.requests = requests
        self.blocked = blocked
    }
}
