import Hummingbird
import PnyxControl
import PnyxCore

/// Alerts in the API (`GET /api/v1/alerts`, `POST /api/v1/alerts/test`) and on the dashboard (`/alerts`).
enum AlertHandlers {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static func handlers(backend: any AdminBackend, control: ControlPlane) -> [String: AdminHandler] {
        var a: [String: AdminHandler] = [:]
        a["alerts"] = { call in
            let limit = min(max(Int(call.query("limit") ?? "") ?? 100, 1), 1000)
            let alerts = try await control.alerts.recent(limit: limit, sites: scope(call, backend: backend))
            // Destinations name addresses and URLs of every county: administrators only.
            let destinations = call.principal.allows(.administer, site: nil) ? backend.alertDestinations() : nil
            return try AdminResponses.json(AlertsDTO(destinations: destinations, alerts: alerts.map(AlertDTO.init)))
        }
        a["alerts.test"] = { call in
            let stored = await backend.sendTestAlert(requestedBy: call.principal.name)
            return try AdminResponses.json(AlertDTO(stored))
        }
        a["page.alerts"] = { call in
            let alerts = try await control.alerts.recent(limit: 200, sites: scope(call, backend: backend))
            var body = "<h1>Alerts</h1>"
            body += "<p class=\"muted\">Spikes in refused requests, origins down, page and script changes, and posture changes. Each is sent to the destinations in the configuration's <code>alerts:</code> section.</p>"
            if call.principal.allows(.administer, site: nil) {
                let destinations = backend.alertDestinations()
                body += "<section class=\"controls\"><h2>Destinations</h2>"
                body += destinations.isEmpty
                    ? "<p class=\"bad\">No destination is configured: alerts are only listed here. Add webhooks or email under <code>alerts.destinations</code>.</p>"
                    : "<ul>" + destinations.map { "<li>\(h($0))</li>" }.joined() + "</ul>"
                body += """
                    <form method="post" action="/alerts/test" class="inline">
                    <input type="hidden" name="csrf" value="\(h(call.context.csrf ?? ""))">
                    <button id="send-test-alert">Send a test alert</button></form></section>
                    """
            }
            body += alertsTable(alerts)
            return AdminResponses.html(DashboardLayout.page(title: "Alerts", principal: call.principal, csrf: call.context.csrf, active: "Alerts", body: body))
        }
        a["page.alerts.test"] = { call in
            let stored = await backend.sendTestAlert(requestedBy: call.principal.name)
            var body = "<h1>Test alert sent</h1>"
            body += stored.deliveries.isEmpty ? "<p class=\"bad\">No destination is configured.</p>" : deliveriesList(stored.deliveries)
            body += "<p><a href=\"/alerts\">Back to alerts</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: "Test alert", principal: call.principal, csrf: call.context.csrf, active: "Alerts", body: body))
        }
        return a
    }

    /// nil: every site (a state administrator); otherwise the caller's sites, or the one asked for.
    static func scope(_ call: AdminCall, backend: any AdminBackend) -> [String]? {
        if let site = call.site { return [site] }
        return call.principal.seesAllSites ? nil : call.visibleSites(all: backend.siteSummaries().map(\.name))
    }

    static func alertsTable(_ records: [AlertRecord]) -> String {
        guard !records.isEmpty else { return "<p class=\"muted\">No alerts yet.</p>" }
        var out = "<div class=\"table\"><table><thead><tr><th>Time</th><th>Severity</th><th>Site</th><th>Alert</th><th>Delivery</th></tr></thead><tbody>"
        for record in records {
            let alert = record.alert
            let held = alert.suppressed > 0 ? "<br><span class=\"muted\">\(alert.suppressed) similar held back before it</span>" : ""
            out += "<tr><td>\(DashboardLayout.time(alert.timeMillis))</td><td class=\"severity-\(alert.severity.name)\">\(alert.severity.name)</td><td>\(h(alert.site.isEmpty ? "–" : alert.site))</td>"
            out += "<td><strong>\(h(alert.title))</strong><br>\(h(alert.detail))\(held)</td><td>\(deliveriesList(record.deliveries))</td></tr>"
        }
        return out + "</tbody></table></div>"
    }

    static func deliveriesList(_ deliveries: [DeliveryResult]) -> String {
        guard !deliveries.isEmpty else { return "<span class=\"muted\">not sent (no destination)</span>" }
        return "<ul class=\"plain\">" + deliveries.map { d in
            d.delivered
                ? "<li class=\"good\">sent to \(h(d.destination))\(d.attempts > 1 ? " (attempt \(d.attempts))" : "")</li>"
                : "<li class=\"bad\">failed: \(h(d.destination)): \(h(d.error ?? "unknown error"))</li>"
        }.joined() + "</ul>"
    }
}

struct AlertsDTO: Codable {
    var destinations: [String]?
    var alerts: [AlertDTO]
}

struct AlertDTO: Codable {
    struct Delivery: Codable {
        var destination: String
        var delivered: Bool
        var attempts: Int
        var error: String?
    }

    var id: String
    var time: String
    var kind: String
    var severity: String
    var site: String
    var title: String
    var detail: String
    var suppressed: Int
    var deliveries: [Delivery]

    init(_ record: AlertRecord) {
        let a = record.alert
        id = a.id
        time = iso8601(millis: a.timeMillis)
        kind = a.kind.rawValue
        severity = a.severity.name
        site = a.site
        title = a.title
        detail = a.detail
        suppressed = a.suppressed
        deliveries = record.deliveries.map { Delivery(destination: $0.destination, delivered: $0.delivered, attempts: $0.attempts, error: $0.error) }
    }
}
