import Foundation
import Hummingbird
import NIOCore
import PnyxControl
import PnyxCore

/// `GET /reports` (printable HTML) and `GET /api/v1/report` (JSON summary or `format=csv`).
enum ReportPages {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    /// Builds the report a call asks for: `site` (or every site the principal sees), `from`/`to` (default: the
    /// last 30 days).
    static func build(_ call: AdminCall, backend: any AdminBackend) async throws -> Report {
        let all = backend.siteSummaries().map(\.name)
        let sites = call.principal.seesAllSites && call.site == nil ? nil : call.visibleSites(all: all)
        let (from, to) = try AdminAPI.range(call, defaultDays: 30)
        let traffic = try await backend.dailyTraffic(sites: sites, fromMillis: from, toMillis: to)
        let counts = try await backend.dailyCounts(sites: sites, fromMillis: from, toMillis: to)
        var incidents: [StoredEvent] = []
        for filter in ["escalation", "health", "integrity"] {
            incidents += try await backend.queryEvents(EventQuery(sites: sites, filter: filter, fromMillis: from, toMillis: to, limit: 200))
                .filter { Report.isIncident($0.event) }
        }
        let title = call.site.map { "Pnyx report: \($0)" } ?? (sites == nil ? "Pnyx report: all sites" : "Pnyx report: your sites")
        return Report(title: title, sites: sites ?? [], fromMillis: from, toMillis: to, traffic: traffic, counts: counts, incidents: incidents)
    }

    static func handlers(backend: any AdminBackend) -> [String: AdminHandler] {
        var r: [String: AdminHandler] = [:]
        r["report"] = { call in
            let report = try await build(call, backend: backend)
            if call.query("format") == "csv" {
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: "text/csv; charset=utf-8",
                        .contentDisposition: "attachment; filename=\"pnyx-report-\(report.fromDay)-\(report.toDay).csv\"",
                    ],
                    body: .init(byteBuffer: ByteBuffer(string: report.csv)))
            }
            if call.query("format") == "text" {
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: report.text)))
            }
            return try AdminResponses.json(ReportDTO(report))
        }
        r["page.report"] = { call in
            let report = try await build(call, backend: backend)
            let all = backend.siteSummaries().map(\.name).filter(call.principal.canSee)
            var query = "from=\(report.fromDay)&to=\(report.toDay)"
            if let site = call.site { query += "&site=\(site)" }
            var body = """
                <form method="get" action="/reports" class="filters">
                <label>Site <select name="site"><option value="">All your sites</option>\(all.map { "<option\($0 == call.site ? " selected" : "")>\(h($0))</option>" }.joined())</select></label>
                <label>From <input type="date" name="from" value="\(h(report.fromDay))"></label>
                <label>To <input type="date" name="to" value="\(h(report.toDay))"></label>
                <button>Show</button> <a href="/api/v1/report?\(h(query))&amp;format=csv">Download CSV</a></form>
                """
            body += "<h1>\(h(report.title))</h1><p>\(h(report.sites.isEmpty ? "All sites" : report.sites.joined(separator: ", "))), \(h(report.fromDay)) to \(h(report.toDay)) (UTC).</p>"
            body += "<section class=\"grid\"><article class=\"card\"><dl><dt>Requests</dt><dd>\(report.totalRequests)</dd>"
            body += "<dt>Blocked</dt><dd>\(report.totalBlocked)</dd>"
            body += "<dt>Peak day</dt><dd>\(report.peak.map { "\(h($0.day)) (\($0.blocked) blocked)" } ?? "–")</dd>"
            body += "<dt>Incidents</dt><dd>\(report.incidents.count)</dd></dl></article></section>"
            let series = report.kinds.map { kind in (kind, report.days.map { $0.byKind[kind] ?? 0 }) }
            body += BarChart.svg(days: report.days.map(\.day), series: series, title: "Blocked requests per day by kind")
            body += "<h2>Per day</h2><div class=\"table\"><table><thead><tr><th>Date</th><th class=\"num\">Requests</th><th class=\"num\">Blocked</th><th class=\"num\">Challenged</th>"
            body += report.kinds.map { "<th class=\"num\">\(h($0))</th>" }.joined() + "</tr></thead><tbody>"
            for d in report.days {
                body += "<tr><td>\(h(d.day))</td><td class=\"num\">\(d.requests)</td><td class=\"num\">\(d.blocked)</td><td class=\"num\">\(d.challenged)</td>"
                body += report.kinds.map { "<td class=\"num\">\(d.byKind[$0] ?? 0)</td>" }.joined() + "</tr>"
            }
            body += "</tbody></table></div><h2>Notable incidents</h2>" + DashboardPages.eventsTable(report.incidents)
            body += "<p>An attack on a website does not change any vote: votes are not cast or counted through it.</p>"
            return AdminResponses.html(DashboardLayout.page(title: "Report", principal: call.principal, csrf: call.context.csrf, active: "Reports", body: body))
        }
        return r
    }
}

struct ReportDTO: Codable {
    struct DayDTO: Codable {
        var date: String
        var requests: Int
        var blocked: Int
        var challenged: Int
        var blockedByKind: [String: Int]
    }
    var title: String
    var sites: [String]
    var from: String
    var to: String
    var requests: Int
    var blocked: Int
    var peakDay: String?
    var peakBlocked: Int?
    var days: [DayDTO]
    var incidents: [EventDTO]

    init(_ r: Report) {
        title = r.title
        sites = r.sites
        from = r.fromDay
        to = r.toDay
        requests = r.totalRequests
        blocked = r.totalBlocked
        peakDay = r.peak?.day
        peakBlocked = r.peak?.blocked
        days = r.days.map { DayDTO(date: $0.day, requests: $0.requests, blocked: $0.blocked, challenged: $0.challenged, blockedByKind: $0.byKind) }
        incidents = r.incidents.map(EventDTO.init)
    }
}
