import Hummingbird
import PnyxControl
import PnyxCore

/// The dashboard's night-of controls beyond under-attack mode (publish, the rate-limit factor), a site's integrity
/// page (pending page versions to approve or reject, scripts to approve), and one event in full.
enum NightPages {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static func handlers(backend: any AdminBackend, control: ControlPlane) -> [String: AdminHandler] {
        var p: [String: AdminHandler] = [:]
        p["page.site.publish"] = { call in
            let site = call.site ?? ""
            let urls = (call.form["urls"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !urls.isEmpty, urls.count <= 100, urls.allSatisfy({ $0.hasPrefix("/") }) else {
                throw AdminInputError("give up to 100 paths, one per line, each starting with '/'")
            }
            let outcomes = try await backend.publish(site: site, urls: urls)
            var body = "<h1>Published</h1><p>Each page was purged, fetched again from the origin and stored, so the first voters after the announcement get it from Pnyx.</p>"
            body += "<div class=\"table\"><table><thead><tr><th>Page</th><th>Result</th><th>Detail</th></tr></thead><tbody>"
            for o in outcomes {
                body += "<tr><td><code>\(h(o.url))</code></td><td class=\"\(o.result == "stored" ? "good" : "bad")\">\(h(o.result))</td><td>\(h(o.detail))</td></tr>"
            }
            body += "</tbody></table></div><p><a href=\"/sites/\(h(site))\">Back to \(h(site))</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: "Published", principal: call.principal, csrf: call.context.csrf, body: body))
        }
        p["page.site.rate_limit_scale"] = { call in
            let site = call.site ?? ""
            let value: String?
            switch call.form["scale"] {
            case "config", nil, "": value = nil
            case let text?:
                guard let factor = Double(text), (0.1...10).contains(factor) else { throw AdminInputError("the factor is from 0.1 to 10") }
                value = String(factor)
            }
            guard backend.siteSummaries().contains(where: { $0.name == site }) else { throw AdminInputError("no site named '\(site)'") }
            if try await control.settings.set(site: site, .rateLimitScale, to: value, by: call.actor) {
                let result = await backend.applySettings()
                guard result.ok else { throw AdminInputError("stored but not applied: \(result.errors.joined(separator: "; "))") }
            }
            return AdminResponses.redirect("/sites/\(site)")
        }
        p["page.site.integrity"] = { call in
            let site = call.site ?? ""
            let status = try backend.integrityStatus(site: site)
            let scripts = try backend.scripts(site: site)
            let canOperate = call.principal.allows(.operate, site: site)
            let csrf = h(call.context.csrf ?? "")
            var body = "<h1>Integrity: \(h(site))</h1>"
            body += "<p class=\"muted\">Pinned pages are compared with the origin on every fetch (mode <strong>\(h(status.mode))</strong>: in <em>protect</em>, the approved copy is served and a changed one is held here; in <em>monitor</em>, the changed one is served and held here). Approve a change you expect; reject one you do not (and check the origin).</p>"
            body += "<h2>Waiting for approval</h2>"
            if status.pending.isEmpty {
                body += "<p class=\"good\">No changed page is waiting.</p>"
            } else {
                body += "<div class=\"table\"><table><thead><tr><th>Page</th><th>First seen</th><th>Seen</th><th>Size</th><th></th></tr></thead><tbody>"
                for pending in status.pending {
                    body += "<tr><td><code>\(h(pending.path))</code></td><td>\(h(pending.firstSeen))</td><td>\(pending.seen)×</td><td>\(pending.size) bytes</td><td>"
                    if canOperate {
                        for (action, label, style) in [("approve", "Approve", ""), ("reject", "Reject", "danger")] {
                            body += """
                                <form method="post" action="/sites/\(h(site))/integrity/\(action)" class="inline">
                                <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="path" value="\(h(pending.path))">
                                <button class="\(style)">\(label)</button></form>
                                """
                        }
                    }
                    body += "</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            body += "<h2>Pinned pages</h2>"
            body += status.baselines.isEmpty ? "<p class=\"muted\">No page is pinned (<code>pnyx integrity pin</code> or <code>POST /api/v1/integrity/pin</code>).</p>"
                : "<div class=\"table\"><table><thead><tr><th>Page</th><th>Mode</th><th>Approved</th><th>By</th><th>SHA-256</th></tr></thead><tbody>"
                    + status.baselines.map { "<tr><td><code>\(h($0.path))</code></td><td>\(h($0.mode))</td><td>\(h($0.approvedAt))</td><td>\(h($0.approvedBy))</td><td><code>\(h(String($0.digest.prefix(16))))…</code></td></tr>" }.joined()
                    + "</tbody></table></div>"
            let waiting = scripts.filter { !$0.approved }
            body += "<h2>Scripts not yet approved (\(waiting.count) of \(scripts.count))</h2>"
            if waiting.isEmpty {
                body += "<p class=\"good\">Every script seen on this site is approved.</p>"
            } else {
                body += "<div class=\"table\"><table><thead><tr><th>Script</th><th>Kind</th><th>First seen</th><th>Pages</th><th>Flag</th><th></th></tr></thead><tbody>"
                for script in waiting.prefix(200) {
                    body += "<tr><td><code>\(h(String(script.id.prefix(120))))</code></td><td>\(h(script.kind))\(script.thirdParty ? " (third party)" : "")</td><td>\(h(script.firstSeen))</td><td>\(script.pages.prefix(3).map { h($0) }.joined(separator: ", "))</td><td class=\"\(script.flagged == nil ? "" : "bad")\">\(h(script.flagged ?? ""))</td><td>"
                    if canOperate && script.flagged == nil {
                        body += """
                            <form method="post" action="/sites/\(h(site))/scripts/approve" class="inline">
                            <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="id" value="\(h(script.id))">
                            <button>Approve</button></form>
                            """
                    }
                    body += "</td></tr>"
                }
                body += "</tbody></table></div>"
            }
            return AdminResponses.html(DashboardLayout.page(title: "Integrity: \(site)", principal: call.principal, csrf: call.context.csrf, body: body))
        }
        p["page.site.integrity.approve"] = { call in
            let site = call.site ?? ""
            _ = try await backend.approve(site: site, path: call.form["path"] ?? "")
            return AdminResponses.redirect("/sites/\(site)/integrity")
        }
        p["page.site.integrity.reject"] = { call in
            let site = call.site ?? ""
            guard try await backend.reject(site: site, path: call.form["path"] ?? "") else {
                throw AdminInputError("nothing is waiting for approval at that path")
            }
            return AdminResponses.redirect("/sites/\(site)/integrity")
        }
        p["page.site.scripts.approve"] = { call in
            let site = call.site ?? ""
            guard let id = call.form["id"], !id.isEmpty else { throw AdminInputError("which script?") }
            _ = try backend.approveScripts(site: site, ids: [id])
            return AdminResponses.redirect("/sites/\(site)/integrity")
        }
        p["page.event"] = { call in
            let id = Int64(call.context.parameters.get("id") ?? "") ?? -1
            let visible = call.principal.seesAllSites ? nil : call.visibleSites(all: backend.siteSummaries().map(\.name) + ["-"])
            let found = try await backend.queryEvents(EventQuery(sites: visible, beforeID: id + 1, limit: 1)).first { $0.id == id }
            guard let stored = found else {
                return AdminResponses.html(DashboardLayout.errorPage(status: .notFound, message: "No event \(id) among your sites."), status: .notFound)
            }
            let e = stored.event
            let rows: [(String, String)] = [
                ("Time", DashboardLayout.time(e.timeMillis)), ("Site", e.site), ("Kind", e.filter), ("Action", e.action.rawValue),
                ("Rule", e.rule), ("Client", e.client), ("Request", "\(e.method) \(e.path)"), ("Evidence", e.evidence),
                ("Reference (request id)", e.requestID),
            ]
            var body = "<h1>Event \(stored.id)</h1><dl class=\"detail\">"
            body += rows.map { "<dt>\(h($0.0))</dt><dd>\(h($0.1))</dd>" }.joined() + "</dl>"
            body += "<p class=\"muted\">A voter who reports being blocked quotes the reference shown on their page: the Events page's Reference filter finds it. If the request was legitimate, an administrator can add a WAF exclusion for the rule and argument (<code>POST /api/v1/sites/SITE/waf-exclusions</code>).</p>"
            body += "<p><a href=\"/events?client=\(h(e.client))\">Other events from \(h(e.client))</a> · <a href=\"/events?rule=\(h(e.rule))\">Other events of rule \(h(e.rule))</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: "Event \(stored.id)", principal: call.principal, csrf: call.context.csrf, active: "Events", body: body))
        }
        return p
    }
}
