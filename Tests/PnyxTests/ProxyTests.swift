import Foundation
import Testing

@Suite("Proxy over real sockets")
struct ProxyTests {
    @Test("forwards to the origin, strips hop-by-hop headers both ways, sets forwarding headers")
    func forwardingAndHopByHop() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let response = try await RawHTTP.exchange(
            port: pnyx.httpPort,
            "GET /hop?x=1 HTTP/1.1\r\nHost: Vote.Test\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\n"
                + "Keep-Alive: timeout=9\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                + "X-Forwarded-For: 6.6.6.6\r\nX-End-To-End: kept\r\n\r\n",
            timeout: .seconds(3))
        let parsed = RawHTTP.Response(raw: response)
        #expect(parsed.status == 200)
        // Response side: the origin's hop-by-hop headers are gone, its private Connection-named header too.
        #expect(parsed.header("x-origin-private") == nil)
        #expect(parsed.header("keep-alive") == nil)
        #expect(parsed.header("x-powered-by") == nil)
        #expect(parsed.header("x-content-type-options") == "nosniff")

        let received = try #require(origin.requests.last { $0.path.hasPrefix("/hop") })
        #expect(received.path == "/hop?x=1")
        #expect(received.values("x-client-hop").isEmpty)
        #expect(received.values("keep-alive").isEmpty)
        #expect(received.values("te").isEmpty)
        #expect(received.values("proxy-authorization").isEmpty)
        #expect(received.values("x-end-to-end") == ["kept"])
        #expect(received.values("host") == ["Vote.Test"])
        // Not a trusted proxy: the client's own X-Forwarded-For is replaced, not extended.
        #expect(received.values("x-forwarded-for") == ["127.0.0.1"])
        #expect(received.values("x-forwarded-proto") == ["http"])
        #expect(received.values("x-forwarded-host") == ["vote.test"])
        #expect(received.values("forwarded") == [#"for=127.0.0.1;proto=http;host="vote.test""#])
        #expect(received.values("via") == ["1.1 pnyx"])
        #expect(received.values("x-request-id").first?.count == 16)
    }

    @Test("behind a trusted proxy the client address comes from X-Forwarded-For and the chain is extended")
    func trustedProxy() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: "trusted_proxies: [127.0.0.0/8]"))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let response = try await RawHTTP.get(
            port: pnyx.httpPort, path: "/page", headers: [("X-Forwarded-For", "198.51.100.23"), ("X-Request-ID", "lb-1")])
        #expect(response.status == 200)
        let received = try #require(origin.requests.last { $0.path == "/page" })
        #expect(received.values("x-forwarded-for") == ["198.51.100.23, 127.0.0.1"])
        #expect(received.values("x-request-id") == ["lb-1"])
        // The access log records the real client, not the load balancer.
        #expect(await eventually {
            let log = (try? String(contentsOfFile: pnyx.dataDirectory + "/access.log", encoding: .utf8)) ?? ""
            return log.contains("\"client\":\"198.51.100.23\"")
        })
    }

    @Test("unknown host gets 421; no Host gets 400; nothing is forwarded")
    func unknownHost() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let unknown = try await RawHTTP.get(port: pnyx.httpPort, path: "/page", host: "other.example")
        #expect(unknown.status == 421)
        #expect(unknown.body.contains("protected by Pnyx"))
        let noHost = RawHTTP.Response(
            raw: try await RawHTTP.exchange(port: pnyx.httpPort, "GET /page HTTP/1.1\r\nConnection: close\r\n\r\n"))
        #expect(noHost.status == 400)
        #expect(origin.requests.isEmpty)
    }

    @Test("malformed requests get 400 and nothing reaches the origin", arguments: [
        "GET / HTTP/1.1\r\nHost: vote.test\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        "GET /\u{7F}x HTTP/1.1\r\nHost: vote.test\r\n\r\n",
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: vote.test\r\nBad Header: x\r\n\r\n",
        "GET http://evil.example/ HTTP/1.1\r\nHost: vote.test\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: vote.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    ])
    func malformed(request: String) async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let response = RawHTTP.Response(raw: try await RawHTTP.exchange(port: pnyx.httpPort, request, timeout: .seconds(5)))
        #expect(response.status == 400)
        #expect(origin.requests.isEmpty)
    }

    @Test("origin down gives a branded 502; a slow origin gives 504")
    func originErrors() async throws {
        let origin = try await TestOrigin.start()
        let deadPort = try unusedPort()
        let yaml = """
            listen: { http: 127.0.0.1:0 }
            admin: { listen: off }
            data_dir: DATA_DIR
            access_log: { path: off }
            sites:
              - name: down
                hosts: [down.test]
                origins: [http://127.0.0.1:\(deadPort)]
              - name: slow
                hosts: [slow.test]
                origins: [http://127.0.0.1:\(origin.port)]
                limits: { upstream_response_timeout: 2s }
            """
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let down = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "down.test")
        #expect(down.status == 502)
        #expect(down.body.contains("could not be reached"))
        #expect(down.header("content-type")?.hasPrefix("text/html") == true)
        let json = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "down.test", headers: [("Accept", "application/json")])
        #expect(json.status == 502)
        #expect(json.body.hasPrefix("{\"status\":502"))

        let slow = try await RawHTTP.get(port: pnyx.httpPort, path: "/slow?ms=4000", host: "slow.test")
        #expect(slow.status == 504)
        let fast = try await RawHTTP.get(port: pnyx.httpPort, path: "/slow?ms=0", host: "slow.test")
        #expect(fast.status == 200)
    }

    @Test("a body over the site's limit is refused with 413 and recorded as a security event")
    func bodyLimitEvent() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraSite: "limits: { max_body_bytes: 1KiB }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let small = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.httpPort,
                "POST /echo HTTP/1.1\r\nHost: vote.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"))
        #expect(small.status == 200)
        #expect(small.body == "hello")

        let big = String(repeating: "x", count: 4096)
        let refused = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.httpPort,
                "POST /echo HTTP/1.1\r\nHost: vote.test\r\nContent-Length: 4096\r\n\r\n\(big)"))
        #expect(refused.status == 413)
        #expect(refused.header("connection") == "close")
        // Chunked bodies are counted as they stream.
        let chunk = String(repeating: "y", count: 800)
        let chunked = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.httpPort,
                "POST /echo HTTP/1.1\r\nHost: vote.test\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n"))
        #expect(chunked.status == 413)
        #expect(origin.requests.filter { $0.path == "/echo" }.count <= 2)

        let events = try await adminGET(pnyx, "/api/v1/events?site=county")
        #expect(events.status == 200)
        #expect(events.body.contains("\"rule\":\"max_body_bytes\""))
        #expect(events.body.contains("\"filter\":\"limits\""))
        let metrics = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.adminPort ?? 0, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        #expect(metrics.body.contains(#"pnyx_requests_blocked_total{site="county",filter="limits"} 2"#))
        #expect(!metrics.body.contains("127.0.0.1\""))
        let unauthorized = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.adminPort ?? 0, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        #expect(unauthorized.status == 401)
    }

    @Test("more cookies than the site allows get 431 and never reach the origin or the WAF; a browser's worth pass")
    func cookieLimit() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: "limits: { max_cookies: 160 }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        func get(_ cookieFields: [String]) async throws -> RawHTTP.Response {
            let fields = cookieFields.map { "Cookie: \($0)\r\n" }.joined()
            return RawHTTP.Response(raw: try await RawHTTP.exchange(
                port: pnyx.httpPort, "GET /page HTTP/1.1\r\nHost: vote.test\r\n\(fields)Connection: close\r\n\r\n"))
        }
        func cookies(_ count: Int, from first: Int = 0) -> String {
            (first..<(first + count)).map { "c\($0)=v" }.joined(separator: "; ")
        }
        let browser = try await get([cookies(150)])
        #expect(browser.status == 200)
        let before = origin.requests.count
        // Thousands of empty cookies in one 30 KB head (what a CPU-exhaustion attempt sends).
        let flood = try await get([String(repeating: "a=;", count: 10_000)])
        #expect(flood.status == 431)
        #expect(flood.body.contains("cookies"))
        // The pairs of every Cookie field count together (HTTP/2 splits cookies into several fields).
        let split = try await get([cookies(100), cookies(100, from: 100)])
        #expect(split.status == 431)
        #expect(origin.requests.count == before)
        let events = try await adminGET(pnyx, "/api/v1/events?site=county")
        #expect(events.body.contains("\"rule\":\"max_cookies\""))
    }

    @Test("HTTP/2: cookies split into several fields count together, and a header list of more than 128 fields gets 431")
    func http2FieldLimits() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test"])
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: tlsSiteConfig(originPort: origin.port, certs: certs, extraTop: "limits: { max_cookies: 160 }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)
        func curl(_ headers: [String]) async throws -> String {
            try await curlHTTP2(port: port, certs: certs, headers.flatMap { ["-H", $0] } + ["https://a.test:\(port)/page"])
        }
        func cookies(_ count: Int, from first: Int) -> String {
            "Cookie: " + (first..<(first + count)).map { "c\($0)=v" }.joined(separator: "; ")
        }
        #expect(try await curl([cookies(80, from: 0), cookies(70, from: 80)]) == "200 2")
        #expect(try await curl([cookies(100, from: 0), cookies(100, from: 100)]) == "431 2")
        #expect(try await curl((0..<100).map { "X-Field-\($0): v" }) == "200 2")
        #expect(try await curl((0..<200).map { "X-Field-\($0): v" }) == "431 2")
    }

    @Test("keep-alive: many requests on one client connection reuse pooled origin connections")
    func keepAlive() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        var request = ""
        for i in 0..<20 { request += "GET /page?n=\(i) HTTP/1.1\r\nHost: vote.test\r\n\r\n" }
        request += "GET /page?n=last HTTP/1.1\r\nHost: vote.test\r\nConnection: close\r\n\r\n"
        let raw = try await RawHTTP.exchange(port: pnyx.httpPort, request)
        #expect(raw.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 21)
        #expect(origin.requests.count == 21)
    }

    @Test("the access log has one JSON line per request with site, status and timings, and no query string")
    func accessLog() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/page?address=100+Main+St")
        _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "nobody.test")
        let logPath = pnyx.dataDirectory + "/access.log"
        #expect(await eventually {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").count >= 2
        })
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["site"] as? String == "county")
        #expect(first?["status"] as? Int == 200)
        #expect(first?["path"] as? String == "/page")
        #expect(first?["outcome"] as? String == "forwarded")
        #expect(first?["upstream_ms"] != nil)
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["status"] as? Int == 421)
        #expect(second?["site"] as? String == "-")
        #expect(!lines.joined().contains("Main"))
    }
}
