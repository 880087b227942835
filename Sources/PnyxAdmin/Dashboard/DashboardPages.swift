import Foundation
import Hummingbird
import PnyxControl
import PnyxCore

/// The dashboard's pages, by route name (``AdminRoutes/all``).
enum DashboardPages {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static func handlers(backend: any AdminBackend, control: ControlPlane) -> [String: AdminHandler] {
        var p: [String: AdminHandler] = [:]
        p["page.overview"] = { call in
            let sites = backend.siteSummaries().filter { call.principal.canSee(site: $0.name) }
            let names = sites.map(\.name)
            let scope: [String]? = call.principal.seesAllSites ? nil : names
            let to = (wallMillis() / 86_400_000 + 1) * 86_400_000
            let from = to - 14 * 86_400_000
            let counts = try await backend.dailyCounts(sites: scope, fromMillis: from, toMillis: to)
            let clients = try await backend.top(.client, sites: scope, fromMillis: to - 7 * 86_400_000, toMillis: to, limit: 8)
            let countries = try await backend.topCountries(sites: scope, fromMillis: to - 7 * 86_400_000, toMillis: to, limit: 8)
            var body = "<h1>Overview</h1>"
            body += blockedSection(counts: counts, from: from, to: to, title: "Blocked requests per day, all your sites (14 days)")
            body += "<section class=\"grid\">"
            for site in sites { body += siteCard(site, counts: counts.filter { $0.site == site.name }) }
            body += "</section>"
            body += "<section class=\"columns\"><div><h2>Attack kinds (14 days)</h2>" + kindsTable(counts) + "</div>"
            body += "<div><h2>Top sources (7 days)</h2>" + rankedTable(clients, heading: "Client address") + "</div>"
            body += "<div id=\"top-countries\"><h2>Top countries (7 days)</h2>"
            if let countries {
                body += rankedTable(countries, heading: "Country")
            } else {
                body += "<p class=\"muted\">Add <code>geoip: { database: /path/to/GeoLite2-Country.mmdb }</code> to the configuration to see where refused requests come from.</p>"
            }
            body += "</div></section>"
            return AdminResponses.html(DashboardLayout.page(title: "Overview", principal: call.principal, csrf: call.context.csrf, active: "Overview", body: body))
        }
        p["page.site"] = { call in
            let name = call.site ?? ""
            guard let site = backend.siteSummaries().first(where: { $0.name == name }) else {
                return AdminResponses.html(DashboardLayout.errorPage(status: .notFound, message: "There is no site named \(name)."), status: .notFound)
            }
            let to = (wallMillis() / 86_400_000 + 1) * 86_400_000
            let from = to - 14 * 86_400_000
            let counts = try await backend.dailyCounts(sites: [name], fromMillis: from, toMillis: to)
            let recent = try await backend.queryEvents(EventQuery(sites: [name], limit: 15))
            let canOperate = call.principal.allows(.operate, site: name)
            let csrf = h(call.context.csrf ?? "")
            var body = "<h1>\(h(name))</h1><p class=\"muted\">\(site.hosts.map(h).joined(separator: ", "))</p>"
            body += "<section class=\"controls\"><h2>On the night</h2>"
            body += "<p>Under-attack mode is <strong class=\"\(site.underAttack ? "bad" : "good")\" id=\"under-attack-state\">\(site.underAttack ? "ON" : "off")</strong>"
            body += " <span class=\"muted\">(from the \(site.underAttackSource == "dashboard" ? "dashboard" : "configuration file"))</span>. "
            body += "When on, browsers solve a short proof-of-work once before reaching non-critical pages; critical paths are never challenged.</p>"
            body += "<p class=\"muted\" id=\"settings-scope\">Changes made here are kept in \(h(control.settings.scope)).</p>"
            if canOperate {
                body += """
                    <form method="post" action="/sites/\(h(name))/under-attack" class="inline">
                    <input type="hidden" name="csrf" value="\(csrf)">
                    <input type="hidden" name="on" value="\(site.underAttack ? "false" : "true")">
                    <button id="toggle-under-attack" class="\(site.underAttack ? "" : "danger")">\(site.underAttack ? "Turn under-attack mode off" : "Turn under-attack mode on")</button>
                    </form>
                    """
                if site.underAttackSource == "dashboard" {
                    body += """
                        <form method="post" action="/sites/\(h(name))/under-attack" class="inline">
                        <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="on" value="config">
                        <button class="secondary">Back to the configuration file's setting</button></form>
                        """
                }
                body += """
                    <form method="post" action="/sites/\(h(name))/purge" class="stack">
                    <input type="hidden" name="csrf" value="\(csrf)">
                    <label for="prefix">Purge cached pages under a path (for example <code>/results/</code>; <code>/</code> for everything)</label>
                    <div class="row"><input id="prefix" name="prefix" value="/results/" required pattern="/.*"><button>Purge</button></div>
                    </form>
                    <form method="post" action="/sites/\(h(name))/publish" class="stack">
                    <input type="hidden" name="csrf" value="\(csrf)">
                    <label for="urls">Publish: fetch these pages from the origin now and serve them from Pnyx (one path per line, for example after the results are updated)</label>
                    <textarea id="urls" name="urls" rows="3">/results\n/results/summary.json</textarea>
                    <div class="row"><button>Publish</button></div>
                    </form>
                    <form method="post" action="/sites/\(h(name))/rate-limit-scale" class="stack">
                    <input type="hidden" name="csrf" value="\(csrf)">
                    <label for="scale">Rate limits: multiply every budget of this site by (0.1–10; 0.5 halves them under attack, 2 doubles them for a legitimate rush). Now: <strong id="rate-limit-scale">\(site.rateLimitScale.map { "× \($0)" } ?? "as in the configuration file")</strong></label>
                    <div class="row"><input id="scale" name="scale" inputmode="decimal" value="\(site.rateLimitScale.map { String($0) } ?? "1")"><button>Apply</button></div>
                    </form>
                    """
                if site.rateLimitScale != nil {
                    body += """
                        <form method="post" action="/sites/\(h(name))/rate-limit-scale" class="inline">
                        <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="scale" value="config">
                        <button class="secondary">Rate limits back to the configuration file</button></form>
                        """
                }
            } else {
                body += "<p class=\"muted\">Your role can read this site but not change it.</p>"
            }
            body += "<p><a href=\"/sites/\(h(name))/integrity\">Integrity: pinned pages, changes waiting for approval, scripts</a> · <a href=\"/alerts?site=\(h(name))\">Alerts</a></p>"
            body += "</section>"
            body += "<section class=\"grid\">" + siteCard(site, counts: counts, link: false) + "</section>"
            body += blockedSection(counts: counts, from: from, to: to, title: "Blocked requests per day (14 days)")
            body += "<h2>Latest events</h2>" + eventsTable(recent) + "<p><a href=\"/events?site=\(h(name))\">All events for \(h(name))</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: name, principal: call.principal, csrf: call.context.csrf, body: body))
        }
        p["page.site.under_attack"] = { call in
            let value: String?
            switch call.form["on"] {
            case "true": value = "true"
            case "false": value = "false"
            case "config": value = nil
            default: throw AdminInputError("on must be true, false or config")
            }
            let name = call.site ?? ""
            guard backend.siteSummaries().contains(where: { $0.name == name }) else { throw AdminInputError("no site named '\(name)'") }
            if try await control.settings.set(site: name, .underAttack, to: value, by: call.actor) {
                let result = await backend.applySettings()
                guard result.ok else { throw AdminInputError("the change is stored but could not be applied: \(result.errors.joined(separator: "; "))") }
            }
            return AdminResponses.redirect("/sites/\(name)")
        }
        p["page.site.purge"] = { call in
            let prefix = call.form["prefix"] ?? ""
            guard prefix.hasPrefix("/") else { throw AdminInputError("a path starts with '/'") }
            let name = call.site ?? ""
            let purged = try await backend.purgeCache(site: name, urls: [], prefix: prefix == "/" ? nil : prefix)
            let body = "<h1>Purged</h1><p>\(purged) stored response\(purged == 1 ? "" : "s") of \(h(name)) removed under <code>\(h(prefix))</code>.</p><p><a href=\"/sites/\(h(name))\">Back to \(h(name))</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: "Purged", principal: call.principal, csrf: call.context.csrf, body: body))
        }
        p["page.events"] = { call in
            let all = backend.siteSummaries().map(\.name)
            let sites = call.principal.seesAllSites && call.site == nil ? nil : call.visibleSites(all: all)
            let query = try AdminAPI.eventQuery(call, sites: sites)
            let events = try await backend.queryEvents(query)
            var body = "<h1>Events</h1>"
            body += """
                <form method="get" action="/events" class="filters">
                <label>Site <select name="site"><option value="">All</option>\(all.filter(call.principal.canSee).map { "<option\($0 == call.site ? " selected" : "")>\(h($0))</option>" }.joined())</select></label>
                <label>Kind <input name="kind" value="\(h(query.filter ?? ""))" placeholder="waf, rate_limit, ban…"></label>
                <label>Action <input name="action" value="\(h(query.action?.rawValue ?? ""))" placeholder="block, alert…"></label>
                <label>Client <input name="client" value="\(h(query.client ?? ""))"></label>
                <label>Rule <input name="rule" value="\(h(query.rule ?? ""))"></label>
                <label>Reference <input name="reference" value="\(h(query.requestID ?? ""))" placeholder="from a block page"></label>
                <label>From <input name="from" type="date" value="\(h(call.query("from") ?? ""))"></label>
                <label>To <input name="to" type="date" value="\(h(call.query("to") ?? ""))"></label>
                <button>Filter</button></form>
                """
            body += eventsTable(events)
            if events.count == query.limit, let last = events.last {
                var items = (call.request.uri.queryParameters.map { ($0.key, $0.value) }).filter { $0.0 != "before" }
                items.append(("before", Substring(String(last.id))))
                let next = items.map { "\($0.0)=\(String($0.1).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
                body += "<p><a href=\"/events?\(h(next))\">Older events</a></p>"
            }
            return AdminResponses.html(DashboardLayout.page(title: "Events", principal: call.principal, csrf: call.context.csrf, active: "Events", body: body))
        }
        p["page.audit"] = { call in
            let entries = try await control.audit.entries(limit: 200, before: call.query("before").flatMap { Int64($0) })
            let verification = try await control.audit.verify()
            var body = "<h1>Audit log</h1>"
            body += verification.ok
                ? "<p class=\"good\">The hash chain of all \(verification.entries) entries is intact.</p>"
                : "<p class=\"bad\">The audit log was tampered with: \(verification.problems.map(h).joined(separator: "; "))</p>"
            body += "<div class=\"table\"><table><thead><tr><th>#</th><th>Time</th><th>Who</th><th>From</th><th>What</th><th>Target</th><th>Before</th><th>After</th></tr></thead><tbody>"
            for e in entries {
                body += "<tr><td>\(e.seq)</td><td>\(DashboardLayout.time(e.timeMillis))</td><td>\(h(e.actor)) <span class=\"muted\">(\(h(e.via)))</span></td><td>\(h(e.client))</td><td>\(h(e.action))</td><td>\(h(e.target))</td><td>\(h(e.before))</td><td>\(h(e.after))</td></tr>"
            }
            body += "</tbody></table></div>"
            return AdminResponses.html(DashboardLayout.page(title: "Audit log", principal: call.principal, csrf: call.context.csrf, active: "Audit log", body: body))
        }
        p["page.users"] = { call in
            let users = try await control.accounts.list()
            let tokens = try await control.tokens.list()
            var body = "<h1>Users</h1><p class=\"muted\">Create accounts with <code>pnyx admin create-user NAME --role ROLE --site SITE --config FILE</code> or <code>POST /api/v1/users</code>.</p>"
            body += "<div class=\"table\"><table><thead><tr><th>Name</th><th>Role</th><th>Sites</th><th>MFA</th><th>State</th><th></th></tr></thead><tbody>"
            let now = wallMillis()
            let csrf = h(call.context.csrf ?? "")
            for u in users {
                let state = u.disabled ? "disabled" : (u.lockedUntilMillis > now ? "locked until \(DashboardLayout.time(u.lockedUntilMillis))" : "active")
                body += "<tr><td>\(h(u.name))</td><td>\(h(u.role.label))</td><td>\(u.sites.isEmpty ? "all" : u.sites.map(h).joined(separator: ", "))</td><td>\(u.enrolled ? "enrolled" : "not yet used")</td><td>\(h(state))</td>"
                // A forgotten password or a lost phone: a new password and authenticator secret, shown once.
                body += "<td><form method=\"post\" action=\"/users/\(h(u.name))/reset\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\"><button class=\"secondary\">Reset password and authenticator</button></form></td></tr>"
            }
            body += "</tbody></table></div><h2>API tokens</h2>"
            body += "<div class=\"table\"><table><thead><tr><th>Id</th><th>Name</th><th>Role</th><th>Sites</th><th>Created by</th><th>State</th></tr></thead><tbody>"
            for t in tokens {
                body += "<tr><td><code>\(h(t.id))</code></td><td>\(h(t.name))</td><td>\(h(t.role.label))</td><td>\(t.sites.isEmpty ? "all" : t.sites.map(h).joined(separator: ", "))</td><td>\(h(t.createdBy))</td><td>\(t.revokedMillis == nil ? "live" : "revoked")</td></tr>"
            }
            body += "</tbody></table></div>"
            return AdminResponses.html(DashboardLayout.page(title: "Users", principal: call.principal, csrf: call.context.csrf, active: "Users", body: body))
        }
        return p
    }

    static func blockedSection(counts: [EventCount], from: Int64, to: Int64, title: String) -> String {
        let days = BarChart.dayLabels(endMillis: to, count: Int((to - from) / 86_400_000))
        var byKind: [String: [Int]] = [:]
        for c in counts where c.action == "block" || c.action == "ban" || c.action == "challenge" {
            guard let i = days.firstIndex(of: c.day) else { continue }
            byKind[c.filter, default: Array(repeating: 0, count: days.count)][i] += c.count
        }
        let series = byKind.sorted { $0.value.reduce(0, +) > $1.value.reduce(0, +) }.map { ($0.key, $0.value) }
        let total = series.reduce(0) { $0 + $1.1.reduce(0, +) }
        let peak = days.indices.max { a, b in series.reduce(0) { $0 + $1.1[a] } < series.reduce(0) { $0 + $1.1[b] } }
        var out = "<section><h2>\(h(title))</h2>"
        out += "<p><strong>\(total)</strong> refused or challenged requests"
        if let peak, total > 0 { out += "; peak \(h(days[peak])) with \(series.reduce(0) { $0 + $1.1[peak] })" }
        out += ".</p>" + BarChart.svg(days: days, series: series, title: title) + "</section>"
        return out
    }

    static func siteCard(_ site: AdminSite, counts: [EventCount], link: Bool = true) -> String {
        let blocked = counts.filter { $0.action == "block" }.reduce(0) { $0 + $1.count }
        let posture = site.underAttack ? "under attack (manual)" : site.posture.replacingOccurrences(of: "_", with: " ")
        let origins = site.origins.map { o in
            "\(h(o.address)) <span class=\"\(o.up == false ? "bad" : "good")\">\(o.up == nil ? "not checked" : (o.up! ? "up" : "DOWN"))</span>"
        }.joined(separator: "<br>")
        let solveRate = site.challengesIssued > 0 ? "\(Int((Double(site.challengesSolved) / Double(site.challengesIssued) * 100).rounded()))% of \(site.challengesIssued)" : "no challenges"
        let title = link ? "<a href=\"/sites/\(h(site.name))\">\(h(site.name))</a>" : h(site.name)
        return """
            <article class="card"><h3>\(title)</h3><dl>
            <dt>Posture</dt><dd class="\(site.underAttack || site.posture != "normal" ? "bad" : "good")">\(h(posture))</dd>
            <dt>Blocked (14 days)</dt><dd>\(blocked)</dd>
            <dt>WAF</dt><dd>\(site.wafEngine == "off" ? "off" : "\(h(site.wafEngine)), \(h(site.wafMode))")</dd>
            <dt>Cache hit ratio</dt><dd>\(site.cacheHitRatio.map { "\(Int(($0 * 100).rounded()))%" } ?? "–")</dd>
            <dt>Challenge solve rate</dt><dd>\(solveRate)</dd>
            <dt>Origins</dt><dd>\(origins)</dd>
            </dl></article>
            """
    }

    static func kindsTable(_ counts: [EventCount]) -> String {
        var totals: [String: Int] = [:]
        for c in counts where c.action == "block" || c.action == "ban" || c.action == "challenge" { totals[c.filter, default: 0] += c.count }
        return rankedTable(totals.sorted { $0.value > $1.value }.map { RankedValue(value: $0.key, count: $0.value) }, heading: "Kind")
    }

    static func rankedTable(_ values: [RankedValue], heading: String) -> String {
        guard !values.isEmpty else { return "<p class=\"muted\">Nothing refused in this period.</p>" }
        return "<table><thead><tr><th>\(h(heading))</th><th class=\"num\">Count</th></tr></thead><tbody>"
            + values.map { "<tr><td>\(h($0.value))</td><td class=\"num\">\($0.count)</td></tr>" }.joined() + "</tbody></table>"
    }

    static func eventsTable(_ events: [StoredEvent]) -> String {
        guard !events.isEmpty else { return "<p class=\"muted\">No events.</p>" }
        var out = "<div class=\"table\"><table><thead><tr><th>Time</th><th>Site</th><th>Kind</th><th>Action</th><th>Client</th><th>Request</th><th>Rule</th><th>Evidence</th><th>Reference</th></tr></thead><tbody>"
        for s in events {
            let e = s.event
            out += "<tr><td><a href=\"/events/\(s.id)\">\(DashboardLayout.time(e.timeMillis))</a></td><td>\(h(e.site))</td><td>\(h(e.filter))</td><td class=\"action-\(h(e.action.rawValue))\">\(h(e.action.rawValue))</td><td>\(h(e.client))</td><td>\(h(e.method)) \(h(e.path))</td><td>\(h(e.rule))</td><td>\(h(e.evidence))</td><td><code>\(h(e.requestID))</code></td></tr>"
        }
        return out + "</tbody></table></div>"
    }
}
