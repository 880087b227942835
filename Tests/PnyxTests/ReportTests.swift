import Foundation
import PnyxCore
import Testing
@testable import PnyxAdmin
@testable import PnyxStore

/// The officials' report: its numbers are the stored events' and request counts', the same in text, CSV and
/// through `pnyx report`.
@Suite("Reports for officials")
struct ReportTests {
    static let day0: Int64 = 1_793_404_800_000  // 2026-10-31T00:00:00Z

    static func event(_ site: String, day: Int, filter: String, action: SecurityEvent.Action, rule: String = "r", n: Int) -> SecurityEvent {
        SecurityEvent(
            timeMillis: day0 + Int64(day) * 86_400_000 + Int64(n) * 1000, site: site, client: "198.51.100.\(n % 200)", filter: filter,
            rule: rule, action: action, method: "GET", path: "/", evidence: "e", requestID: String(n))
    }

    /// A fixture: three days of `adams` and one of `boone`, with attacks peaking on day 2, and two incidents.
    static func fixture(_ store: SQLiteEventStore) async throws {
        var events: [SecurityEvent] = []
        for n in 0..<5 { events.append(event("adams", day: 0, filter: "waf", action: .block, n: n)) }
        for n in 0..<40 { events.append(event("adams", day: 2, filter: "waf", action: .block, n: n)) }
        for n in 0..<12 { events.append(event("adams", day: 2, filter: "rate_limit", action: .block, n: n)) }
        for n in 0..<3 { events.append(event("adams", day: 2, filter: "challenge", action: .challenge, n: n)) }
        events.append(event("adams", day: 2, filter: "escalation", action: .alert, rule: "posture", n: 99))
        events.append(event("adams", day: 1, filter: "integrity", action: .alert, rule: "defacement", n: 98))
        events.append(event("adams", day: 1, filter: "waf", action: .alert, n: 97))  // an alert is not a block
        for n in 0..<7 { events.append(event("boone", day: 1, filter: "waf", action: .block, n: n)) }
        try await store.insert(events)
        try await store.addTraffic([
            TrafficCount(site: "adams", startMillis: day0 + 3_600_000, requests: 1000, blocked: 5),
            TrafficCount(site: "adams", startMillis: day0 + 86_400_000 + 7_200_000, requests: 800, blocked: 0),
            TrafficCount(site: "adams", startMillis: day0 + 2 * 86_400_000, requests: 500, blocked: 30),
            TrafficCount(site: "adams", startMillis: day0 + 2 * 86_400_000 + 60_000, requests: 700, blocked: 22),  // same hour: added
            TrafficCount(site: "boone", startMillis: day0 + 86_400_000, requests: 90, blocked: 7),
        ])
    }

    @Test("per-day requests, blocked by kind, peak day and incidents equal the stored fixture; CSV and text agree")
    func numbers() async throws {
        let dir = try PnyxProcess.makeDirectory()
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("pnyx.sqlite").path)
        try await Self.fixture(store)
        let from = Self.day0, to = Self.day0 + 3 * 86_400_000
        let traffic = try await store.dailyTraffic(sites: ["adams"], fromMillis: from, toMillis: to)
        let counts = try await store.dailyCounts(sites: ["adams"], fromMillis: from, toMillis: to)
        var incidents: [StoredEvent] = []
        for filter in ["escalation", "health", "integrity"] {
            incidents += try await store.query(EventQuery(sites: ["adams"], filter: filter, fromMillis: from, toMillis: to)).filter { Report.isIncident($0.event) }
        }
        let report = Report(title: "t", sites: ["adams"], fromMillis: from, toMillis: to, traffic: traffic, counts: counts, incidents: incidents)
        #expect(report.days.map(\.day) == ["2026-10-31", "2026-11-01", "2026-11-02"])
        #expect(report.days.map(\.requests) == [1000, 800, 1200])
        #expect(report.days.map(\.blocked) == [5, 0, 52])
        #expect(report.days[2].byKind == ["waf": 40, "rate_limit": 12])
        #expect(report.days[2].challenged == 3)
        #expect(report.totalRequests == 3000 && report.totalBlocked == 57)
        #expect(report.peak?.day == "2026-11-02")
        #expect(report.incidents.map(\.event.rule) == ["defacement", "posture"])
        #expect(report.kinds == ["rate_limit", "waf"])
        #expect(report.csv.hasPrefix("date,requests,blocked,challenged,blocked_rate_limit,blocked_waf\r\n2026-10-31,1000,5,0,0,5\r\n"))
        #expect(report.csv.contains("2026-11-02,1200,52,3,12,40\r\n"))
        #expect(report.text.contains("Requests: 3000    Blocked: 57    Peak day: 2026-11-02 (52 blocked)"))

        // The whole state: both sites.
        let state = Report(
            title: "t", sites: [], fromMillis: from, toMillis: to,
            traffic: try await store.dailyTraffic(sites: nil, fromMillis: from, toMillis: to),
            counts: try await store.dailyCounts(sites: nil, fromMillis: from, toMillis: to), incidents: [])
        #expect(state.totalRequests == 3090 && state.totalBlocked == 64 && state.days[1].byKind == ["waf": 7])

        // `pnyx report` prints the same from the data directory of a configuration.
        let config = dir.appendingPathComponent("pnyx.yaml").path
        try """
            listen: { http: 127.0.0.1:0 }
            data_dir: \(dir.path)
            sites:
              - { name: adams, hosts: [adams.test], origins: [http://127.0.0.1:9] }
              - { name: boone, hosts: [boone.test], origins: [http://127.0.0.1:9] }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let csv = try await run(PnyxProcess.binary.path, ["report", "--config", config, "--site", "adams", "--from", "2026-10-31", "--to", "2026-11-02", "--format", "csv"])
        #expect(csv.status == 0, "\(csv.error)")
        #expect(csv.output == report.csv)
        let text = try await run(PnyxProcess.binary.path, ["report", "--config", config, "--from", "2026-10-31", "--to", "2026-11-02"])
        #expect(text.output.contains("Requests: 3090    Blocked: 64"))
        #expect(text.output.contains("defacement") && text.output.contains("does not change any vote"))
        let bad = try await run(PnyxProcess.binary.path, ["report", "--config", config, "--site", "nowhere"])
        #expect(bad.status == 1 && bad.error.contains("no site named 'nowhere'"))
    }
}

@Suite("Dashboard chart")
struct BarChartTests {
    @Test("the y axis has four even, whole steps of a round size; bars carry their counts")
    func axis() {
        #expect(BarChart.niceCeiling(1) == 1 && BarChart.niceCeiling(2) == 2 && BarChart.niceCeiling(3) == 5 && BarChart.niceCeiling(6) == 10)
        #expect(BarChart.niceCeiling(11) == 20 && BarChart.niceCeiling(60) == 100)
        let svg = BarChart.svg(days: ["2026-11-01", "2026-11-02"], series: [("waf", [5, 21])], title: "t")
        for label in [">0<", ">10<", ">20<", ">30<", ">40<"] { #expect(svg.contains(label), "\(label)") }
        #expect(svg.contains("<title>2026-11-02: 21 waf</title>") && svg.contains("waf (26)"))
        let empty = BarChart.svg(days: ["2026-11-01"], series: [], title: "t")
        for label in [">0<", ">1<", ">2<", ">3<", ">4<"] { #expect(empty.contains(label), "\(label)") }
    }
}
