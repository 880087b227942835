import Foundation
import NIOCore
import PnyxAdmin
import PnyxAlerts
import PnyxChallenge
import PnyxControl
import PnyxCore
import PnyxDefense
import PnyxIntegrity
import PnyxServer
import PnyxStore

/// The admin listener's view of the running edge.
struct EdgeBackend: AdminBackend {
    let coordinator: ReloadCoordinator
    let events: EventQueue
    let store: any EventStore
    let snapshots: SnapshotStore
    let accessLog: AccessLogSink?
    let connections: ConnectionGate
    let slowClients: SlowClientCounters
    let traffic: TrafficState
    let proxy: ProxyRuntime
    let group: any EventLoopGroup
    let challenge: ChallengeState
    let integrity: IntegrityState
    let overrides: OverridesInEffect
    let tally: RequestTally
    let alerts: AlertService

    func reload() async -> ReloadResult { await coordinator.reload() }

    func alertDestinations() -> [String] { snapshots.snapshot.configuration.alerts.destinations.map(\.label) }

    func sendTestAlert(requestedBy who: String) async -> AlertRecord {
        await alerts.sendTest(requestedBy: who)
    }

    func applySettings() async -> ReloadResult { await coordinator.applySettings() }

    func recentEvents(limit: Int, site: String?) async throws -> [SecurityEvent] {
        await events.drain()
        return try await store.recent(limit: limit, site: site)
    }

    func queryEvents(_ query: EventQuery) async throws -> [StoredEvent] {
        await events.drain()
        return try await store.query(query)
    }

    func dailyCounts(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [EventCount] {
        await events.drain()
        return try await store.dailyCounts(sites: sites, fromMillis: fromMillis, toMillis: toMillis)
    }

    func dailyTraffic(sites: [String]?, fromMillis: Int64, toMillis: Int64) async throws -> [TrafficCount] {
        try await store.addTraffic(tally.drain().map { TrafficCount(site: $0.site, startMillis: wallMillis(), requests: $0.requests, blocked: $0.blocked) })
        return try await store.dailyTraffic(sites: sites, fromMillis: fromMillis, toMillis: toMillis)
    }

    func top(_ column: RankedColumn, sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue] {
        try await store.top(column, sites: sites, fromMillis: fromMillis, toMillis: toMillis, limit: limit)
    }

    func siteSummaries() -> [AdminSite] {
        let configuration = snapshots.snapshot.configuration
        let stored = overrides.current
        let health = proxy.cache.health.all
        let cacheStats = Dictionary(proxy.cache.stats.all, uniquingKeysWith: { a, _ in a })
        let challengeStats = Dictionary(challenge.stats.all, uniquingKeysWith: { a, _ in a })
        return configuration.sites.map { site in
            let name = site.name.rawValue
            let checked = site.healthCheck != nil
            let origins = site.origins.map { origin in
                AdminOrigin(
                    address: origin.description,
                    up: checked ? health.first { $0.site == name && $0.origin == origin }?.isUp ?? true : nil)
            }
            let cache = cacheStats[name]
            let challenges = challengeStats[name]
            let posture = site.escalation.enabled ? traffic.sites.traffic(for: site.name).posture : .normal
            var summary = AdminSite(
                name: name, hosts: site.hosts, underAttack: site.challenge.underAttack,
                underAttackSource: stored.value(site: name, .underAttack) == nil ? "config" : "dashboard",
                posture: posture.description, wafEngine: site.waf.engine.rawValue, wafMode: site.waf.mode.rawValue,
                wafModeSource: stored.value(site: name, .wafMode) == nil ? "config" : "dashboard", origins: origins,
                cacheHitRatio: cache.flatMap { $0.hitRatio.isFinite && $0.hitRatio > 0 ? $0.hitRatio : nil },
                challengesIssued: challenges?.count(.issued) ?? 0, challengesSolved: challenges?.count(.solved) ?? 0)
            summary.rateLimitScale = stored.value(site: name, .rateLimitScale).flatMap(Double.init)
            summary.addedWAFExclusions = stored.value(site: name, .wafExclusions)?.split(separator: "\n").map(String.init) ?? []
            return summary
        }
    }

    func status() async -> AdminStatus {
        let snapshot = snapshots.snapshot
        return AdminStatus(
            version: PnyxVersion.string, generation: snapshot.generation,
            sites: snapshot.configuration.sites.map(\.name.rawValue),
            eventsWritten: events.written.load(ordering: .relaxed), eventsDropped: events.dropped.load(ordering: .relaxed),
            eventsQueued: events.queued)
    }

    func bans() -> [AdminBan] {
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
        return traffic.bans.list(nowSeconds: now).map { ban in
            AdminBan(
                address: ban.address.description, site: ban.site, reason: ban.reason,
                since: iso8601(millis: ban.sinceWallMillis), until: iso8601(millis: ban.untilWallMillis),
                secondsLeft: Int(ban.untilSeconds - now))
        }
    }

    func addBan(address: String, seconds: Int, reason: String, by who: String) throws -> AdminBan {
        guard let parsed = IPAddress(address) else { throw AdminInputError("not an IP address: '\(address)'") }
        guard (60...30 * 86_400).contains(seconds) else { throw AdminInputError("a ban lasts from 1 minute to 30 days") }
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
        let wall = ProxyRuntime.wallMillis()
        let ban = Ban(
            address: parsed, untilSeconds: now + UInt64(seconds), sinceWallMillis: wall, untilWallMillis: wall + Int64(seconds) * 1000,
            site: "-", reason: "banned by \(who): \(reason)")
        guard traffic.bans.add(ban, nowSeconds: now) else {
            throw AdminInputError("\(address) is already banned, or the ban list is full")
        }
        events.emit(BanSweeper.event(for: ban, rule: "ban_manual", evidence: ban.reason))
        return AdminBan(
            address: parsed.description, site: ban.site, reason: ban.reason, since: iso8601(millis: wall),
            until: iso8601(millis: ban.untilWallMillis), secondsLeft: seconds)
    }

    func clearBans(address: String?) throws -> Int {
        var target: IPAddress?
        if let address {
            guard let parsed = IPAddress(address) else { throw AdminInputError("not an IP address: '\(address)'") }
            target = parsed
        }
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
        let lifted = traffic.bans.clear(target, nowSeconds: now)
        for ban in lifted { events.emit(BanSweeper.event(for: ban, rule: "ban_cleared", evidence: "lifted by an administrator")) }
        return lifted.count
    }

    func purgeCache(site: String, urls: [String], prefix: String?) async throws -> Int {
        do {
            return try await CachePublisher.purge(runtime: proxy, site: site, urls: urls, prefix: prefix)
        } catch let problem as CachePublisher.Problem {
            throw AdminInputError(problem.description)
        }
    }

    func publish(site: String, urls: [String]) async throws -> [PublishOutcome] {
        do {
            return try await CachePublisher.publish(runtime: proxy, group: group, site: site, urls: urls).map {
                PublishOutcome(url: $0.url, result: $0.result, detail: $0.detail)
            }
        } catch let problem as CachePublisher.Problem {
            throw AdminInputError(problem.description)
        }
    }


    func cacheMetrics() -> String {
        let store = proxy.cache.store
        var text = "# HELP pnyx_cache_bytes Bytes of stored responses.\n# TYPE pnyx_cache_bytes gauge\n"
        let disk = proxy.cache.disk
        text += "pnyx_cache_bytes{tier=\"memory\"} \(store.bytes)\n"
        if let disk { text += "pnyx_cache_bytes{tier=\"disk\"} \(disk.bytes)\n" }
        text += "# HELP pnyx_cache_objects Stored responses.\n# TYPE pnyx_cache_objects gauge\n"
        text += "pnyx_cache_objects{tier=\"memory\"} \(store.objects)\n"
        if let disk { text += "pnyx_cache_objects{tier=\"disk\"} \(disk.objects)\n" }
        text += "# HELP pnyx_cache_evictions_total Stored responses evicted to stay within a tier's bound.\n"
        text += "# TYPE pnyx_cache_evictions_total counter\npnyx_cache_evictions_total{tier=\"memory\"} \(store.evictions.load(ordering: .relaxed))\n"
        if let disk {
            let c = disk.counters
            text += "pnyx_cache_evictions_total{tier=\"disk\"} \(c.evictions.load(ordering: .relaxed))\n"
            text += "# HELP pnyx_cache_disk_operations_total Disk tier work: writes, reads (memory misses found on disk), "
            text += "errors, and writes skipped because the disk fell behind.\n# TYPE pnyx_cache_disk_operations_total counter\n"
            for (name, counter) in [("write", c.writes), ("read", c.reads), ("error", c.errors), ("skipped", c.skipped)] {
                text += "pnyx_cache_disk_operations_total{op=\"\(name)\"} \(counter.load(ordering: .relaxed))\n"
            }
        }
        let sites = proxy.cache.stats.all
        text += "# HELP pnyx_cache_requests_total Requests by cache status (HIT, MISS, STALE, BYPASS, EXPIRED, REVALIDATED, STATIC).\n"
        text += "# TYPE pnyx_cache_requests_total counter\n"
        for (site, counters) in sites {
            for status in CacheStatus.allCases {
                text += "pnyx_cache_requests_total{site=\"\(site)\",status=\"\(status.rawValue)\"} \(counters.count(status))\n"
            }
        }
        text += "# HELP pnyx_cache_served_bytes_total Response body bytes served from cache.\n# TYPE pnyx_cache_served_bytes_total counter\n"
        for (site, counters) in sites {
            text += "pnyx_cache_served_bytes_total{site=\"\(site)\"} \(counters.servedBytes.load(ordering: .relaxed))\n"
        }
        text += "# HELP pnyx_cache_hit_ratio Share of cacheable requests answered from cache since start.\n# TYPE pnyx_cache_hit_ratio gauge\n"
        for (site, counters) in sites {
            text += "pnyx_cache_hit_ratio{site=\"\(site)\"} \(counters.hitRatio)\n"
        }
        text += "# HELP pnyx_origin_up Whether an origin passes its health check (1) or not (0).\n# TYPE pnyx_origin_up gauge\n"
        for state in proxy.cache.health.all.sorted(by: { "\($0.site)\($0.origin)" < "\($1.site)\($1.origin)" }) {
            text += "pnyx_origin_up{site=\"\(state.site)\",origin=\"\(state.origin)\"} \(state.isUp ? 1 : 0)\n"
        }
        return text
    }

    func metricsText() -> String {
        var text = Bootstrap.registry.emitToString()
        func counter(_ name: String, _ help: String, _ value: Int) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        counter("pnyx_events_written_total", "Security events written to the store.", events.written.load(ordering: .relaxed))
        counter(
            "pnyx_events_dropped_total", "Security events dropped (queue full or store failing).",
            events.dropped.load(ordering: .relaxed))
        counter(
            "pnyx_access_log_dropped_lines_total", "Access-log lines dropped because the writer fell behind.",
            accessLog?.droppedLines.load(ordering: .relaxed) ?? 0)
        text += "# HELP pnyx_connections_refused_total Client connections closed at accept by a connection limit.\n"
        text += "# TYPE pnyx_connections_refused_total counter\n"
        text += "pnyx_connections_refused_total{limit=\"total\"} \(connections.refusedTotal.load(ordering: .relaxed))\n"
        text += "pnyx_connections_refused_total{limit=\"per_ip\"} \(connections.refusedPerAddress.load(ordering: .relaxed))\n"
        text += "# HELP pnyx_slow_clients_closed_total Client connections closed by the slow-client defence.\n"
        text += "# TYPE pnyx_slow_clients_closed_total counter\n"
        text += "pnyx_slow_clients_closed_total{kind=\"header\"} \(slowClients.header.load(ordering: .relaxed))\n"
        text += "pnyx_slow_clients_closed_total{kind=\"body\"} \(slowClients.body.load(ordering: .relaxed))\n"
        text += "pnyx_slow_clients_closed_total{kind=\"send\"} \(slowClients.send.load(ordering: .relaxed))\n"
        text += "# HELP pnyx_connections_open Client connections open now.\n# TYPE pnyx_connections_open gauge\n"
        text += "pnyx_connections_open \(connections.open)\n"
        counter(
            "pnyx_rate_limit_untracked_total", "Requests a rate limit could not count because its table was full (fail-open).",
            traffic.counters.untracked.load(ordering: .relaxed))
        counter("pnyx_bans_made_total", "Client addresses banned for repeated refused requests.", traffic.bans.made.load(ordering: .relaxed))
        text += "# HELP pnyx_bans_active Client addresses banned now.\n# TYPE pnyx_bans_active gauge\n"
        text += "pnyx_bans_active \(traffic.bans.activeCount)\n"
        counter("pnyx_escalations_total", "Automatic changes of a site's posture.", traffic.escalations.load(ordering: .relaxed))
        text += "# HELP pnyx_site_posture A site's posture: 0 normal, 1 elevated, 2 under attack.\n# TYPE pnyx_site_posture gauge\n"
        for site in snapshots.snapshot.configuration.sites where site.escalation.enabled {
            text += "pnyx_site_posture{site=\"\(site.name.rawValue)\"} \(traffic.sites.traffic(for: site.name).posture.rawValue)\n"
        }
        text += cacheMetrics()
        text += "# HELP pnyx_challenge_total Bot challenge outcomes: issued (page shown), solved, failed, passed (valid "
        text += "clearance), bot (verified crawler), noscript, refused, json (429 to an API client).\n"
        text += "# TYPE pnyx_challenge_total counter\n"
        for (site, counters) in challenge.stats.all {
            for result in ChallengeStats.Result.allCases {
                text += "pnyx_challenge_total{site=\"\(site)\",result=\"\(result.rawValue)\"} \(counters.count(result))\n"
            }
        }
        text += "# HELP pnyx_integrity_total Integrity outcomes: matched (pinned page as approved), changed (served, alert), "
        text += "protected (approved version served instead), unchecked (too large or encoded), signed.\n"
        text += "# TYPE pnyx_integrity_total counter\n"
        for (site, counters) in integrity.stats.all {
            for result in IntegrityStats.Result.allCases {
                text += "pnyx_integrity_total{site=\"\(site)\",result=\"\(result.rawValue)\"} \(counters.count(result))\n"
            }
        }
        text += "# HELP pnyx_config_generation Configuration generation in use.\n# TYPE pnyx_config_generation gauge\n"
        text += "pnyx_config_generation \(snapshots.snapshot.generation)\n"
        return text
    }
}
