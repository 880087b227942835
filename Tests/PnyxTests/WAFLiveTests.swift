import Foundation
import Testing

/// The WAF in a real pnyx in front of a real origin: attacks refused before the origin sees them (bodies held back
/// until inspected), voters' ordinary input passed through unchanged, detect mode, the inspection limit.
@Suite("WAF over real sockets: CRS blocks attacks, lets voters through")
struct WAFLiveTests {
    static func start(waf: String) async throws -> (TestOrigin, PnyxProcess) {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraSite: "waf: \(waf)", hosts: "[vote.test, 127.0.0.1]"))
        return (origin, pnyx)
    }

    static func post(_ port: Int, _ path: String, _ body: String, type: String = "application/x-www-form-urlencoded") async throws -> RawHTTP.Response {
        RawHTTP.Response(raw: try await RawHTTP.exchange(
            port: port,
            "POST \(path) HTTP/1.1\r\nHost: vote.test\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nContent-Type: \(type)\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"))
    }

    @Test("blocking mode: SQLi and XSS in the query and in a held body get 403 with a reference and never reach the origin; O'Brien gets through")
    func blocking() async throws {
        let (origin, pnyx) = try await Self.start(waf: "{ mode: block, paranoia_level: 1 }")
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let sqli = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?q=%27%20OR%201=1--", host: "vote.test")
        #expect(sqli.status == 403)
        #expect(sqli.body.contains("reference"))
        let xss = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?q=%3Cscript%3Ealert(1)%3C/script%3E", host: "vote.test")
        #expect(xss.status == 403)
        let page = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?name=O%27Brien&city=Nu%C3%B1ez", host: "vote.test")
        #expect(page.status == 200)

        let form = "first=Siobhan&last=O%27Brien&address=12+Main+St+%234%3B+Apt+2&comment=I+want+to+select+a+union+rep+or+drop+by"
        let accepted = try await Self.post(pnyx.httpPort, "/echo", form)
        #expect(accepted.status == 200)
        #expect(accepted.body == form)
        let json = try await Self.post(pnyx.httpPort, "/echo", #"{"name":"D'Angelo","note":"select one"}"#, type: "application/json")
        #expect(json.status == 200)

        let before = origin.requests.count
        let attack = try await Self.post(pnyx.httpPort, "/echo", "comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E")
        #expect(attack.status == 403)
        #expect(origin.requests.count == before, "the origin saw a request the WAF refused")

        #expect(try await eventually {
            let events = try await adminGET(pnyx, "/api/v1/events?limit=20").body
            return events.contains("\"filter\":\"waf\"") && events.contains("score=")
        })
    }

    @Test("responses: a page leaking a database error is withheld (phase 4, 403 with a reference), the answer to a POST too; ordinary pages pass unchanged")
    func responsePhases() async throws {
        let (origin, pnyx) = try await Self.start(waf: "{ mode: block, paranoia_level: 1 }")
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let leak = try await RawHTTP.get(port: pnyx.httpPort, path: "/leak", host: "vote.test")
        #expect(leak.status == 403)
        #expect(leak.body.contains("reference"))
        #expect(!leak.body.contains("SQL syntax"))
        let page = try await RawHTTP.get(port: pnyx.httpPort, path: "/page", host: "vote.test")
        #expect(page.status == 200)
        #expect(page.body == "page\n")
        // The answer to a form POST is inspected too (where a probe through a form would see the leak), and a
        // clean POST's answer passes unchanged.
        let postLeak = try await Self.post(pnyx.httpPort, "/leak", "name=O%27Brien&zip=12345")
        #expect(postLeak.status == 403)
        #expect(!postLeak.body.contains("SQL syntax"))
        let echo = try await Self.post(pnyx.httpPort, "/echo", "name=O%27Brien&zip=12345")
        #expect(echo.status == 200)
        #expect(echo.body == "name=O%27Brien&zip=12345")
        #expect(try await eventually {
            let events = try await adminGET(pnyx, "/api/v1/events?limit=20").body
            return events.contains("\"filter\":\"waf\"") && events.contains("951") && events.contains("outbound=")
        })
    }

    @Test("HTTP/2: a body sent without Content-Length is held and inspected too; GETs and clean POSTs pass")
    func http2Bodies() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test"])
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: tlsSiteConfig(originPort: origin.port, certs: certs, extraSite: "waf: { mode: block }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)
        func curl(_ arguments: [String], stdin: String? = nil) async throws -> String {
            try await curlHTTP2(port: port, certs: certs, arguments, stdin: stdin)
        }
        #expect(try await curl(["https://a.test:\(port)/page?name=O%27Brien"]) == "200 2")
        let before = origin.requests.count
        // `-T -` streams stdin: over HTTP/2 curl sends no Content-Length.
        let attack = try await curl(["-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded", "-T", "-",
                                     "https://a.test:\(port)/echo"], stdin: "comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        #expect(attack == "403 2")
        #expect(origin.requests.count == before)
        let clean = try await curl(["-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded", "-T", "-",
                                    "https://a.test:\(port)/echo"], stdin: "first=Siobhan&last=O%27Brien")
        #expect(clean == "200 2")
        // The client announced no length: Pnyx forwarded the body chunked.
        let received = try #require(origin.requests.last)
        #expect(received.values("transfer-encoding") == ["chunked"], "\(received.headers)")
    }

    @Test("a reload with a broken rule file is refused with its file and line, and the running WAF keeps blocking")
    func badRulesRefused() async throws {
        let (origin, pnyx) = try await Self.start(waf: "{ mode: block }")
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-bad-crs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SecRule ARGS \"@rx a\" \"id:1,pass\"\nSecRule ARGS \"@rx (\" \"id:2,pass\"\n"
            .write(to: directory.appendingPathComponent("rules/broken.conf"), atomically: true, encoding: .utf8)
        try pnyx.rewriteConfig(siteConfig(
            originPort: origin.port, extraSite: "waf: { rules: \(directory.path) }", hosts: "[vote.test, 127.0.0.1]"))
        pnyx.signal(SIGHUP)
        #expect(await eventually { pnyx.log.contains("reload refused") && pnyx.log.contains("broken.conf:2") }, "\(pnyx.log)")
        let still = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?q=%27%20OR%201=1--", host: "vote.test")
        #expect(still.status == 403)
    }

    @Test("detect mode lets the attack through and records an alert; a body over the inspection limit is refused with 413")
    func detectAndLimit() async throws {
        let (origin, pnyx) = try await Self.start(waf: "{ mode: detect, inspect_body: 1KiB, over_limit: reject }")
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let passed = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?q=%27%20OR%201=1--", host: "vote.test")
        #expect(passed.status == 200)
        #expect(try await eventually {
            let events = try await adminGET(pnyx, "/api/v1/events?limit=20").body
            return events.contains("\"filter\":\"waf\"") && events.contains("\"action\":\"alert\"")
        })
        // A leaking page is served in detect mode (and recorded).
        let leak = try await RawHTTP.get(port: pnyx.httpPort, path: "/leak", host: "vote.test")
        #expect(leak.status == 200)
        #expect(leak.body.contains("SQL syntax"))
        let large = try await Self.post(pnyx.httpPort, "/echo", "a=" + String(repeating: "x", count: 4096))
        #expect(large.status == 413)
    }
}
