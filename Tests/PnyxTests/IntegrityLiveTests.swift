import Foundation
import Logging
import NIOCore
import NIOPosix
import PnyxDemo
import Testing

/// Integrity on the data path: the demo election origin behind a real pnyx, `pnyx verify` and `pnyx integrity`.
@Suite("Integrity over real sockets: signed results, pnyx verify, protect and monitor")
struct IntegrityLiveTests {
    /// The demo origin (home, results, the JSON feed, and its defacement switch) on a free port.
    final class DemoSite: Sendable {
        let port: Int
        let task: Task<Void, any Error>
        init(port: Int, task: Task<Void, any Error>) {
            self.port = port
            self.task = task
        }

        static func start() async throws -> DemoSite {
            var logger = Logger(label: "demo-origin")
            logger.logLevel = .error
            let ports = AsyncStream<Int>.makeStream()
            let app = DemoOrigin.makeApplication(port: 0, logger: logger) { port in ports.continuation.yield(port) }
            let task = Task { try await app.runService() }
            var iterator = ports.stream.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("demo origin did not start") }
            return DemoSite(port: port, task: task)
        }

        func tamper(_ on: Bool) async throws {
            let response = RawHTTP.Response(
                raw: try await RawHTTP.exchange(
                    port: port, "POST /demo/tamper?on=\(on ? 1 : 0) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
            #expect(response.status == 200)
        }

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    /// The admin port is fixed (not 0): `pnyx integrity …` finds the running Pnyx from the configuration file.
    static func config(_ origin: DemoSite, integrity: String) throws -> String {
        siteConfig(
            originPort: origin.port, extraSite: "integrity: \(integrity)", hosts: "[vote.test, 127.0.0.1]", adminPort: try unusedPort())
    }

    /// A server that replays a signed response (its fields byte for byte, `Date` included) with the given body, and
    /// the site's real key and proof. Raw NIO, so nothing rewrites a field on the way.
    static func tamperingMirror(headers: [(String, String)], body: String, key: String, proof: String) async throws -> (Int, any Channel) {
        let skip: Set<String> = ["content-length", "connection", "transfer-encoding"]
        var head = ""
        for (name, value) in headers where !skip.contains(name) { head += "\(name): \(value)\r\n" }
        let routes: [String: String] = [
            "/results/summary.json": "HTTP/1.1 200 OK\r\n\(head)content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)",
            "/.well-known/pnyx/key": "HTTP/1.1 200 OK\r\ncontent-length: \(key.utf8.count)\r\nconnection: close\r\n\r\n\(key)",
            "/.well-known/pnyx/log/proof": "HTTP/1.1 200 OK\r\ncontent-length: \(proof.utf8.count)\r\nconnection: close\r\n\r\n\(proof)",
        ]
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ReplayHandler(routes: routes)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel.localAddress?.port ?? 0, channel)
    }

    /// Answers each connection's request from fixed bytes chosen by the request target's path.
    final class ReplayHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let routes: [String: String]
        var request = ""
        init(routes: [String: String]) { self.routes = routes }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            request += String(buffer: unwrapInboundIn(data))
            guard request.contains("\r\n\r\n") else { return }
            let target = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
            let response = routes[path] ?? "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(string: response))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    @Test("signed results: pnyx verify passes on the live response and fails on a tampered copy; unsigned paths carry no signature")
    func signedResults() async throws {
        let origin = try await DemoSite.start()
        let pnyx = try await PnyxProcess.start(yaml: try Self.config(origin, integrity: "{ signed_paths: [/results/**, /register] }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let binary = PnyxProcess.binary.path

        // A signed path's page is signed; the answer to a form POST to the same path is not (pages are GETs).
        let form = try await RawHTTP.get(port: pnyx.httpPort, path: "/register", host: "127.0.0.1")
        #expect(form.status == 200 && form.header("content-digest") != nil)
        let body = "name=Mary+O%27Brien&dob=1960-01-02&street=12+Main+St+%235&zip=12345"
        let posted = RawHTTP.Response(raw: try await RawHTTP.exchange(
            port: pnyx.httpPort,
            "POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"))
        #expect(posted.status == 200)
        #expect(posted.header("content-digest") == nil && posted.header("signature") == nil)
        let url = "http://127.0.0.1:\(pnyx.httpPort)/results/summary.json"

        let verified = try await run(binary, ["verify", url])
        #expect(verified.status == 0, "\(verified.output)\(verified.error)")
        #expect(verified.output.contains("VERIFIED"))
        #expect(verified.output.contains("ok   log-inclusion"))

        let signed = try await RawHTTP.get(port: pnyx.httpPort, path: "/results/summary.json", host: "127.0.0.1")
        #expect(signed.status == 200)
        #expect(signed.header("content-digest")?.hasPrefix("sha-256=:") == true)
        #expect(signed.header("signature-input")?.contains(#""@path";req "content-digest" "date""#) == true)
        let index = try #require(signed.header("pnyx-log-index"))
        let unsigned = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "127.0.0.1")
        #expect(unsigned.status == 200 && unsigned.header("signature") == nil && unsigned.header("content-digest") == nil)

        let key = try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/key", host: "127.0.0.1")
        #expect(key.status == 200 && key.body.contains("\"alg\":\"ed25519\""))
        let proof = try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/log/proof?index=\(index)", host: "127.0.0.1")
        #expect(proof.status == 200)
        let log = try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/log", host: "127.0.0.1")
        #expect(log.body.contains("summary.json"))

        // The same signed headers with one vote count changed: the digest no longer matches.
        let tampered = signed.body.replacingOccurrences(of: "\"votes\":", with: "\"votes\":1")
        #expect(tampered != signed.body)
        let (mirrorPort, mirror) = try await Self.tamperingMirror(headers: signed.headers, body: tampered, key: key.body, proof: proof.body)
        defer { mirror.close(promise: nil) }
        let refused = try await run(binary, ["verify", "http://127.0.0.1:\(mirrorPort)/results/summary.json"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("FAIL content-digest"))
        #expect(refused.output.contains("NOT VERIFIED"))
        // The untouched copy from the mirror verifies (the check is of the content, not of who serves it).
        let (copyPort, copy) = try await Self.tamperingMirror(headers: signed.headers, body: signed.body, key: key.body, proof: proof.body)
        defer { copy.close(promise: nil) }
        let copied = try await run(binary, ["verify", "http://127.0.0.1:\(copyPort)/results/summary.json"])
        #expect(copied.status == 0, "\(copied.output)\(copied.error)")

        // A saved copy (as `curl -D h -o b` saves it) is checked against the live key and log: as saved it passes,
        // edited it does not.
        let saved = pnyx.directory.appendingPathComponent("copy").path
        let head = String(signed.raw[..<signed.raw.range(of: "\r\n\r\n")!.upperBound])
        try head.write(toFile: saved + ".headers", atomically: true, encoding: .utf8)
        try signed.body.write(toFile: saved + ".body", atomically: true, encoding: .utf8)
        let savedOK = try await run(binary, ["verify", url, "--headers", saved + ".headers", "--body", saved + ".body"])
        #expect(savedOK.status == 0, "\(savedOK.output)\(savedOK.error)")
        try tampered.write(toFile: saved + ".body", atomically: true, encoding: .utf8)
        let savedBad = try await run(binary, ["verify", url, "--headers", saved + ".headers", "--body", saved + ".body"])
        #expect(savedBad.status == 1)
        #expect(savedBad.output.contains("FAIL content-digest"))
    }

    @Test("a defaced origin: protect serves the approved page and holds the new one, monitor serves it with an alert; approval and restart")
    func protectAndMonitor() async throws {
        let origin = try await DemoSite.start()
        let yaml = try Self.config(origin, integrity: "{ mode: protect, monitor: [/] }")
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await origin.stop() } }
        let binary = PnyxProcess.binary.path
        let site = ["--config", pnyx.configPath, "--site", "county"]

        let original = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1")
        #expect(original.status == 200)
        let script = try await RawHTTP.get(port: pnyx.httpPort, path: "/assets/site.js", host: "127.0.0.1")
        let pin = try await run(binary, ["integrity", "pin"] + site + ["/", "/results", "/assets/site.js"])
        #expect(pin.status == 0, "\(pin.output)\(pin.error)")
        #expect(pin.output.contains("pinned   /results"))
        #expect(try await run(binary, ["integrity", "pin"] + site + ["/no-such-page"]).status == 1)

        try await origin.tamper(true)
        let protected = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1")
        #expect(protected.status == 200)
        #expect(protected.header("pnyx-integrity") == "protected")
        #expect(protected.body == original.body)
        #expect(!protected.body.contains("coinhive"))
        // The site's script swapped for a miner: the approved script is served instead.
        let swapped = try await RawHTTP.get(port: pnyx.httpPort, path: "/assets/site.js", host: "127.0.0.1")
        #expect(swapped.header("pnyx-integrity") == "protected")
        #expect(swapped.body == script.body && !swapped.body.contains("CoinHive"))
        let monitored = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "127.0.0.1")
        #expect(monitored.header("pnyx-integrity") == "changed")
        #expect(monitored.body.contains("coinhive"))

        let events = try await adminGET(pnyx, "/api/v1/events?limit=20").body
        #expect(events.contains("\"rule\":\"protected\""))
        #expect(events.contains("\"rule\":\"changed\""))
        let status = try await run(binary, ["integrity", "status"] + site)
        #expect(status.output.contains("waiting for approval (3)"))
        #expect(status.output.contains("protect  /results"))
        #expect(status.output.contains("monitor  /"))

        let approve = try await run(binary, ["integrity", "approve"] + site + ["/results"])
        #expect(approve.status == 0, "\(approve.output)\(approve.error)")
        let approved = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1")
        #expect(approved.header("pnyx-integrity") == nil)
        #expect(approved.body.contains("coinhive"))
        #expect(try await run(binary, ["integrity", "approve"] + site + ["/results"]).status == 1)

        // After a restart the baselines are still there: the origin's restored page is now the one that differs.
        await pnyx.stop()
        try await origin.tamper(false)
        let again = try await PnyxProcess.start(yaml: yaml, directory: pnyx.directory)
        defer { Task { await again.stop() } }
        let afterRestart = try await RawHTTP.get(port: again.httpPort, path: "/results", host: "127.0.0.1")
        #expect(afterRestart.header("pnyx-integrity") == "protected")
        #expect(afterRestart.body == approved.body)
    }

    @Test("script inventory: pages carry the report-only policy, a defaced page's miner is flagged, browsers' reports join the inventory, approval widens the policy")
    func scriptInventory() async throws {
        let origin = try await DemoSite.start()
        let pnyx = try await PnyxProcess.start(yaml: try Self.config(origin, integrity: "{ mode: monitor }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let binary = PnyxProcess.binary.path
        let site = ["--config", pnyx.configPath, "--site", "county"]

        let results = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1")
        #expect(results.header("content-security-policy-report-only") == "script-src 'self'; report-uri /.well-known/pnyx/csp-report")
        let json = try await RawHTTP.get(port: pnyx.httpPort, path: "/results/summary.json", host: "127.0.0.1")
        #expect(json.header("content-security-policy-report-only") == nil)

        try await origin.tamper(true)
        let defaced = try await RawHTTP.get(port: pnyx.httpPort, path: "/", host: "127.0.0.1")
        #expect(defaced.body.contains("coinhive"))
        let report = #"{"csp-report":{"document-uri":"http://127.0.0.1/lookup","blocked-uri":"https://skimmer.example/x.js","effective-directive":"script-src-elem"}}"#
        let posted = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.httpPort,
                "POST /.well-known/pnyx/csp-report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/csp-report\r\nContent-Length: \(report.utf8.count)\r\nConnection: close\r\n\r\n\(report)"))
        #expect(posted.status == 204)

        let listed = try await eventually {
            let listed = try await run(binary, ["integrity", "scripts"] + site)
            return listed.output.contains("FLAGGED:coinhive") && listed.output.contains("https://skimmer.example/x.js")
        }
        #expect(listed, "the inventory lists the defaced page's miner and the reported script")
        let events = try await adminGET(pnyx, "/api/v1/events?limit=50").body
        #expect(events.contains("\"rule\":\"known_bad_script\""))
        #expect(events.contains("\"rule\":\"new_domain\""))

        let approved = try await run(binary, ["integrity", "approve-scripts", "--all"] + site)
        #expect(approved.status == 0, "\(approved.output)\(approved.error)")
        let after = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1")
        let policy = try #require(after.header("content-security-policy-report-only"))
        #expect(policy.contains("'sha256-"))
        #expect(policy.contains("https://skimmer.example/x.js"))
        #expect(!policy.contains("coin-hive.example"))
    }
}

/// Enforcement in a real browser. Runs after the rest of the suite (see scripts/test.sh), like the challenge's.
@Suite("Integrity: the enforced script policy in headless Chromium")
struct IntegrityBrowserTests {
    @Test("approved scripts run with no CSP violation; a defaced page's injected miner is blocked by the policy")
    func enforcedPolicy() async throws {
        let origin = try await IntegrityLiveTests.DemoSite.start()
        let pnyx = try await PnyxProcess.start(yaml: try IntegrityLiveTests.config(origin, integrity: "{ scripts: enforce }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let binary = PnyxProcess.binary.path
        let site = ["--config", pnyx.configPath, "--site", "county"]
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/csp.py").path
        let url = "http://127.0.0.1:\(pnyx.httpPort)/results"

        // Learn the page's scripts, approve them.
        let first = try await RawHTTP.get(port: pnyx.httpPort, path: "/results", host: "127.0.0.1", headers: [("Accept", "text/html")])
        #expect(first.header("content-security-policy")?.contains("'nonce-") == true)
        // The site's own script is fetched and hashed (its SRI value once approved).
        let inventoried = try await eventually {
            let json = try await run(binary, ["integrity", "scripts", "--json"] + site).output
            let list = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] ?? []
            let own = list.first { ($0["id"] as? String)?.hasSuffix("/assets/site.js") == true }
            return own?["content_hash"] is String && list.contains { ($0["id"] as? String)?.hasPrefix("inline:sha256-") == true }
        }
        #expect(inventoried)
        #expect(try await run(binary, ["integrity", "approve-scripts", "--all"] + site).status == 0)

        let clean = try await run("python3", [script, url])
        #expect(clean.status == 0, "\(clean.output)\n\(clean.error.suffix(2000))")
        #expect(clean.output.contains("\"rendered\": true"), "the approved inline script ran: \(clean.output)")
        #expect(clean.output.contains("\"violations\": []"), "no violation for approved scripts: \(clean.output)")
        #expect(clean.output.contains("\"integrity_failures\": []"), "the site's script passes its SRI check: \(clean.output)")

        // The origin is defaced: its page now carries a miner (external and inline). Nothing was approved for it.
        try await origin.tamper(true)
        let defaced = try await run("python3", [script, url])
        #expect(defaced.status == 0, "\(defaced.output)\n\(defaced.error.suffix(2000))")
        #expect(defaced.output.contains("\"rendered\": true"), "the approved script still runs: \(defaced.output)")
        #expect(defaced.output.contains("\"miner_started\": false"), "the injected script was blocked: \(defaced.output)")
        #expect(defaced.output.contains("coin-hive.example"), "the external miner was refused: \(defaced.output)")
        let report = (try? JSONSerialization.jsonObject(with: Data(defaced.output.utf8))) as? [String: Any]
        let failures = report?["integrity_failures"] as? [String] ?? []
        #expect(failures.contains { $0.contains("/assets/site.js") }, "the swapped site script failed its SRI check: \(defaced.output)")
    }
}
