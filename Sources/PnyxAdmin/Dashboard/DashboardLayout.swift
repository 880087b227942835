import Hummingbird
import PnyxControl
import PnyxCore

/// The dashboard's page frame: server-rendered HTML, one same-origin stylesheet, no script, no external font or
/// CDN (it works under `default-src 'none'; style-src 'self'`), readable on a phone.
enum DashboardLayout {
    static func h(_ text: String) -> String { TextEscaping.html(text) }

    static func page(title: String, principal: Principal?, csrf: String?, active: String = "", body: String) -> String {
        var nav = ""
        if let principal {
            let links: [(String, String, Bool)] = [
                ("/", "Overview", true), ("/events", "Events", true), ("/alerts", "Alerts", true), ("/reports", "Reports", true),
                ("/users", "Users", principal.allows(.administer, site: nil)),
                ("/audit", "Audit log", principal.allows(.administer, site: nil)),
            ]
            nav = "<nav>" + links.filter(\.2).map { link in
                "<a href=\"\(link.0)\"\(link.1 == active ? " aria-current=\"page\"" : "")>\(link.1)</a>"
            }.joined() + "</nav>"
            nav += """
                <div class="who"><a href="/account">\(h(principal.name))</a><span>\(h(principal.role.label))</span>
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(h(csrf ?? ""))">\
                <button class="link">Sign out</button></form></div>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(h(title)) · Pnyx</title>
            <link rel="stylesheet" href="/assets/pnyx.css">
            </head><body>
            <header><a class="brand" href="/">Pnyx</a>\(nav)</header>
            <main>
            \(body)
            </main>
            <footer>Pnyx security edge · An attack on this website does not change any vote.</footer>
            </body></html>
            """
    }

    static func errorPage(status: HTTPResponse.Status, message: String) -> String {
        page(title: "\(status.code)", principal: nil, csrf: nil, body: """
            <h1>\(status.code) \(h(status.reasonPhrase))</h1><p>\(h(message))</p><p><a href="/">Back to the overview</a></p>
            """)
    }

    static func time(_ millis: Int64) -> String { UTCTime.seconds(millis) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
