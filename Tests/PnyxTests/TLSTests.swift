import Foundation
import Testing

@Suite("TLS, SNI and HTTP/2", .serialized)
struct TLSTests {
    static func config(originPort: Int, certs: TestCertificates) -> String {
        """
        listen:
          http: 127.0.0.1:0
          https: 127.0.0.1:0
        admin: { listen: off }
        data_dir: DATA_DIR
        access_log: { path: DATA_DIR/access.log }
        sites:
          - name: alpha
            hosts: [a.test]
            origins: [http://127.0.0.1:\(originPort)]
            tls: { certificate: \(certs.certificate("a.test")), key: \(certs.key("a.test")) }
          - name: beta
            hosts: [b.test]
            origins: [http://127.0.0.1:\(originPort)]
            tls: { certificate: \(certs.certificate("b.test")), key: \(certs.key("b.test")) }
        """
    }

    @Test("HTTP/2 over TLS end to end (ALPN h2), with HSTS, and HTTP/1.1 over TLS still works")
    func http2EndToEnd() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test", "b.test"])
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port, certs: certs))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)

        let h2 = try await run("curl", [
            "-sS", "--http2", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1",
            "-D", "-", "-w", "\nversion=%{http_version}", "https://a.test:\(port)/page?via=h2",
        ])
        #expect(h2.status == 0, "\(h2.error)")
        #expect(h2.output.contains("version=2"))
        #expect(h2.output.contains("page\n"))
        #expect(h2.output.lowercased().contains("strict-transport-security: max-age=15552000"))
        let received = try #require(origin.requests.last { $0.path == "/page?via=h2" })
        #expect(received.values("x-forwarded-proto") == ["https"])
        #expect(received.values("via") == ["2 pnyx"])

        // A POST body over HTTP/2 (no content-length from the client) arrives intact.
        let post = try await run("curl", [
            "-sS", "--http2", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1",
            "--data-binary", "ballot=42", "https://a.test:\(port)/echo",
        ])
        #expect(post.output == "ballot=42")

        let h1 = try await run("curl", [
            "-sS", "--http1.1", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1",
            "-w", "\nversion=%{http_version}", "https://a.test:\(port)/page",
        ])
        #expect(h1.output.contains("version=1.1"))
    }

    @Test("SNI picks each site's certificate")
    func sniPicksCertificate() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test", "b.test"])
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port, certs: certs))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)

        for host in ["a.test", "b.test"] {
            let result = try await run("/bin/sh", ["-c",
                "openssl s_client -connect 127.0.0.1:\(port) -servername \(host) -CAfile \(certs.caPath) </dev/null 2>/dev/null | openssl x509 -noout -subject"])
            #expect(result.output.contains("CN = \(host)"), "\(host): \(result.output)")
            // And curl verifies the chain for that name.
            let verified = try await run("curl", [
                "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certs.caPath,
                "--resolve", "\(host):\(port):127.0.0.1", "https://\(host):\(port)/page",
            ])
            #expect(verified.output == "200", "\(verified.error)")
        }
    }

    @Test("an HTTP/2 upload below the minimum body rate has its stream reset; a normal one on HTTP/2 passes")
    func http2SlowBody() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test", "b.test"])
        let origin = try await TestOrigin.start()
        let yaml = Self.config(originPort: origin.port, certs: certs).replacingOccurrences(
            of: "admin: { listen: off }",
            with: "admin: { listen: 127.0.0.1:0 }\nlimits: { min_body_rate: 4KiB/s, slow_rate_grace: 1s }")
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)
        let upload = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-h2-upload-\(getpid())").path
        try String(repeating: "v", count: 64 * 1024).write(toFile: upload, atomically: true, encoding: .utf8)

        // 200 bytes every 0.2 s (1 KB/s, a quarter of the minimum) from a pipe: the stream is reset after the grace
        // period, and curl hears of it (RST_STREAM, CANCEL) while the connection stays usable for other streams.
        let started = ContinuousClock.now
        let slow = try await run("/bin/sh", [
            "-c",
            "i=0; while [ $i -lt 100 ]; do printf '%0200d' 0 || exit 0; sleep 0.2; i=$((i+1)); done | curl -sS --http2 --cacert \(certs.caPath) --resolve a.test:\(port):127.0.0.1 --max-time 30 -T - -X POST https://a.test:\(port)/upload",
        ])
        #expect(slow.status != 0)
        #expect(slow.error.contains("CANCEL"), "\(slow.error)")
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(await eventually { await metric(pnyx, "pnyx_slow_clients_closed_total{kind=\"body\"}") == 1 })

        let normal = try await run("curl", [
            "-sS", "--http2", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1",
            "-T", upload, "-X", "POST", "https://a.test:\(port)/upload",
        ])
        #expect(normal.status == 0, "\(normal.error)")
        #expect(normal.output == "received 65536\n")
    }

    @Test("the cache over HTTP/2: a HEAD that leads a fetch gets the head only; GET and HEAD are then answered from the copy")
    func http2CacheHead() async throws {
        let certs = try await TestCertificates.make(hosts: ["a.test", "b.test"])
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(originPort: origin.port, certs: certs))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let port = try #require(pnyx.httpsPort)
        func curl(_ extra: [String]) async throws -> (status: Int32, output: String, error: String) {
            try await run("curl", [
                "-sS", "--http2", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1", "-D", "-",
                "-w", "\nversion=%{http_version}",
            ] + extra + ["https://a.test:\(port)/r/h2"])
        }
        // `-X HEAD` (not `-I`) makes curl print whatever DATA the stream carries: there must be none (curl then
        // exits 18, "partial file", as it was told 6 bytes and got none).
        let lead = try await curl(["-X", "HEAD"])
        #expect([0, 18].contains(lead.status), "\(lead.error)")
        #expect(lead.output.contains("version=2"))
        #expect(lead.output.lowercased().contains("pnyx-cache: miss"))
        #expect(lead.output.lowercased().contains("content-length: 6"))
        #expect(!lead.output.contains("h2 v1"))
        let get = try await curl([])
        #expect(get.status == 0, "\(get.error)")
        #expect(get.output.lowercased().contains("pnyx-cache: hit"))
        #expect(get.output.contains("h2 v1\n"))
        let head = try await curl(["-X", "HEAD"])
        #expect([0, 18].contains(head.status), "\(head.error)")
        #expect(head.output.lowercased().contains("pnyx-cache: hit"))
        #expect(!head.output.contains("h2 v1"))
        #expect(origin.count("/r/h2") == 1)
    }
}
