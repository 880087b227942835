import Foundation
import Logging
import PnyxControl
import PnyxCore
import PnyxFleet
import PnyxStore
import PostgresNIO
import Testing

/// The fleet's shared PostgreSQL database, against a real PostgreSQL server: events and request counts written
/// by several nodes read back exactly as the single-node SQLite store reads its own, settings changed on one node
/// are seen by the others, and a database that does not answer fails calls quickly instead of hanging them.
@Suite("Fleet database (PostgreSQL)")
struct FleetStoreTests {
    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_730_000_000_000  // 2024-10-27

    /// Events over three days, two sites, several kinds, clients, rules and paths.
    static func fixture() -> [SecurityEvent] {
        let filters = ["waf", "rate_limit", "ban", "challenge"]
        let actions: [SecurityEvent.Action] = [.block, .block, .ban, .challenge, .log]
        let paths = ["/", "/register", "/api/polling-place", "/results"]
        var events: [SecurityEvent] = []
        for n in 0..<240 {
            let time: Int64 = start + Int64(n) * day / 80
            let site = n % 3 == 0 ? "adams" : "brown"
            let rule = n % 5 == 0 ? "942100,942190" : "rule-\(n % 6)"
            events.append(
                SecurityEvent(
                    timeMillis: time, site: site, client: "198.51.100.\(n % 7)", filter: filters[n % 4], rule: rule,
                    action: actions[n % 5], method: n % 2 == 0 ? "GET" : "POST", path: paths[n % 4],
                    evidence: "ARGS:q=' OR 1=1 #\(n)", requestID: String(format: "%016x", n)))
        }
        return events
    }

    static func traffic() -> [TrafficCount] {
        (0..<30).map { n in
            TrafficCount(site: n % 2 == 0 ? "adams" : "brown", startMillis: start + Int64(n) * 3_600_000 * 3, requests: 100 + n, blocked: n)
        }
    }

    @Test("events and request counts written by two nodes read back as the SQLite store reads them")
    func parityWithSQLite() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-fleet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let sqlite = try SQLiteEventStore(path: dir.appendingPathComponent("pnyx.sqlite").path)
        let events = Self.fixture()
        try await sqlite.insert(events)
        let traffic = Self.traffic()
        try await sqlite.addTraffic(traffic)
        try await sqlite.addTraffic(traffic)

        try await TestPostgres.withFleet(settings, node: "east") { east in
            try await TestPostgres.withFleet(settings, node: "west") { west in
                try await east.migrate()
                let eastStore = PostgresEventStore(database: east)
                let westStore = PostgresEventStore(database: west)
                try await eastStore.insert(Array(events[..<120]))
                try await westStore.insert(Array(events[120...]))
                // The same hours counted on both nodes add up.
                try await eastStore.addTraffic(traffic)
                try await westStore.addTraffic(traffic)

                #expect(try await westStore.count() == events.count)
                var queries: [EventQuery] = [EventQuery(limit: 1000)]
                var q = EventQuery(limit: 1000)
                q.sites = ["adams"]
                queries.append(q)
                q = EventQuery(limit: 1000)
                q.filter = "waf"
                q.action = .block
                queries.append(q)
                q = EventQuery(limit: 1000)
                q.client = "198.51.100.3"
                q.fromMillis = Self.start + Self.day
                q.toMillis = Self.start + 2 * Self.day
                queries.append(q)
                q = EventQuery(limit: 1000)
                q.rule = "942190"
                queries.append(q)
                q = EventQuery(limit: 1000)
                q.requestID = String(format: "%016x", 77)
                queries.append(q)
                q = EventQuery(limit: 10)
                q.sites = []
                queries.append(q)
                for query in queries {
                    let fromPostgres = try await eastStore.query(query).map(\.event)
                    let fromSQLite = try await sqlite.query(query).map(\.event)
                    #expect(fromPostgres == fromSQLite, "\(query)")
                    #expect(!fromSQLite.isEmpty || query.sites == [], "the fixture should match \(query)")
                }
                // Paging: the next page starts after the last id of the previous one.
                var page = EventQuery(limit: 50)
                let first = try await eastStore.query(page)
                page.beforeID = first.last?.id
                let second = try await eastStore.query(page)
                #expect(first.count == 50 && second.count == 50)
                #expect(Set(first.map(\.event.requestID)).isDisjoint(with: second.map(\.event.requestID)))
                #expect((first + second).map(\.event) == Array(events.reversed().prefix(100)))

                let from = Self.start - Self.day
                let to = Self.start + 5 * Self.day
                for sites in [nil, ["brown"]] as [[String]?] {
                    #expect(try await eastStore.dailyCounts(sites: sites, fromMillis: from, toMillis: to)
                        == sqlite.dailyCounts(sites: sites, fromMillis: from, toMillis: to))
                    #expect(try await westStore.dailyTraffic(sites: sites, fromMillis: from, toMillis: to)
                        == sqlite.dailyTraffic(sites: sites, fromMillis: from, toMillis: to))
                    for column in [RankedColumn.client, .rule, .path] {
                        #expect(try await eastStore.top(column, sites: sites, fromMillis: from, toMillis: to, limit: 5)
                            == sqlite.top(column, sites: sites, fromMillis: from, toMillis: to, limit: 5))
                    }
                }
                let days = try await eastStore.dailyTraffic(sites: nil, fromMillis: from, toMillis: to)
                #expect(days.reduce(0) { $0 + $1.requests } == 2 * traffic.reduce(0) { $0 + $1.requests })
                #expect(days.map(\.day).first == "2024-10-27")
            }
        }
    }

    @Test("a setting changed on one node is read by the others, audited where it was made, and concurrent changes take turns")
    func sharedSettings() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let (eastControl, _) = try temporaryControlPlane()
        let (westControl, _) = try temporaryControlPlane()
        try await TestPostgres.withFleet(settings, node: "east") { east in
            try await TestPostgres.withFleet(settings, node: "west") { west in
                try await east.migrate()
                let eastSettings = FleetSiteSettings(database: east, audit: eastControl.audit)
                let westSettings = FleetSiteSettings(database: west, audit: westControl.audit)
                #expect(try await eastSettings.set(site: "adams", .underAttack, to: "true", by: cliActor))
                #expect(try await !westSettings.set(site: "adams", .underAttack, to: "true", by: cliActor))
                #expect(try await westSettings.overrides().value(site: "adams", .underAttack) == "true")
                await #expect(throws: AccountError.self) { try await westSettings.set(site: "adams", .wafMode, to: "off", by: cliActor) }

                let entry = try #require(try await eastControl.audit.entries(limit: 5).first)
                #expect(entry.action == "site.under_attack" && entry.before == "(config)")
                #expect(entry.after == "under_attack=true (fleet, from east)", "\(entry.after)")
                #expect(try await westControl.audit.entries(limit: 5).isEmpty)

                // Twenty changes of one setting from both nodes at once: each is applied and audited exactly once.
                let changed = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for n in 0..<20 {
                        let store = n % 2 == 0 ? eastSettings : westSettings
                        group.addTask { try await store.set(site: "brown", .rateLimitScale, to: "\(1 + n % 4)", by: cliActor) }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                let audited = try await (eastControl.audit.entries(limit: 100) + westControl.audit.entries(limit: 100))
                    .filter { $0.action == "site.rate_limit_scale" }
                #expect(changed >= 1 && audited.count == changed)
                let eastChain = try await eastControl.audit.verify()
                let westChain = try await westControl.audit.verify()
                #expect(eastChain.ok && westChain.ok)

                #expect(try await westSettings.set(site: "adams", .underAttack, to: nil, by: cliActor))
                #expect(try await eastSettings.overrides().value(site: "adams", .underAttack) == nil)
            }
        }
    }

    @Test("nodes starting together create the tables once")
    func concurrentMigrations() async throws {
        let settings = try await TestPostgres.freshDatabase()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<4 {
                group.addTask { try await TestPostgres.withFleet(settings, node: "node-\(n)") { try await $0.migrate() } }
            }
            try await group.waitForAll()
        }
        let applied = try await TestPostgres.withFleet(settings, node: "check") { fleet in
            try await PostgresEventStore(database: fleet).count()
        }
        #expect(applied == 0)
    }

    @Test("a database nobody answers for fails each call within its deadline instead of hanging")
    func unreachable() async throws {
        var settings = try await TestPostgres.freshDatabase()
        settings.port = try unusedPort()
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            try await TestPostgres.withFleet(settings, node: "lost", deadline: .seconds(2)) { fleet in
                try await PostgresEventStore(database: fleet).insert(Self.fixture())
            }
        }
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
