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
}
