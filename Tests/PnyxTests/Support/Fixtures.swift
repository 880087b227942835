import Synchronization
import Foundation

/// Configuration text for tests: one site `vote.test` in front of `originPort`, listening on port 0. The WAF is off
/// unless `extraSite` configures it: loading CRS costs a debug build about a second of CPU per process, and dozens of
/// processes starting at once would slow the timing-sensitive tests beside them (the WAF's own tests turn it on).
func siteConfig(
    originPort: Int, extraTop: String = "", extraSite: String = "", hosts: String = "[vote.test]", adminPort: Int = 0
) -> String {
    """
    listen:
      http: 127.0.0.1:0
    admin:
      listen: 127.0.0.1:\(adminPort)
    data_dir: DATA_DIR
    access_log:
      path: DATA_DIR/access.log
    \(extraTop)
    sites:
      - name: county
        hosts: \(hosts)
        origins: [http://127.0.0.1:\(originPort)]
    \(extraSite.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    \(extraSite.contains("waf:") ? "" : "    waf: { engine: off }")
    """
}

/// One HTTPS site `a.test` (its certificate from `certs`) in front of `originPort`, with HTTP and HTTPS listeners on
/// port 0 and no admin listener. The WAF is off unless `extraSite` configures it (see ``siteConfig``).
func tlsSiteConfig(originPort: Int, certs: TestCertificates, extraTop: String = "", extraSite: String = "") -> String {
    """
    listen: { http: 127.0.0.1:0, https: 127.0.0.1:0 }
    admin: { listen: off }
    data_dir: DATA_DIR
    access_log: { path: DATA_DIR/access.log }
    \(extraTop)
    sites:
      - name: alpha
        hosts: [a.test]
        origins: [http://127.0.0.1:\(originPort)]
        tls: { certificate: \(certs.certificate("a.test")), key: \(certs.key("a.test")) }
    \(extraSite.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    \(extraSite.contains("waf:") ? "" : "    waf: { engine: off }")
    """
}

/// `curl --http2` with a browser's User-Agent and Accept to `https://a.test:port…` (the URL is among `arguments`),
/// trusting `certs`; returns "STATUS HTTP-VERSION".
func curlHTTP2(port: Int, certs: TestCertificates, _ arguments: [String], stdin: String? = nil) async throws -> String {
    try await run("curl", [
        "-sS", "--http2", "--cacert", certs.caPath, "--resolve", "a.test:\(port):127.0.0.1", "-o", "/dev/null",
        "-w", "%{http_code} %{http_version}", "-H", "User-Agent: Mozilla/5.0", "-H", "Accept: text/html",
    ] + arguments, stdin: stdin).output
}

/// The next candidate for ``unusedPort()``: below the kernel's ephemeral range (32768–60999 on Linux), so no
/// outgoing connection of another test can take the port between the check and its use, and handed out in turn so
/// two tests of this process never get the same one.
private let nextPort = Mutex<Int>(Int.random(in: 20_000..<29_000))

/// A TCP port nobody listens on now (bound then released), for a configuration that must name a fixed port.
func unusedPort() throws -> Int {
    for _ in 0..<500 {
        let port = nextPort.withLock { next -> Int in
            next = next >= 29_999 ? 20_000 : next + 1
            return next
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    throw TestFailure("no free TCP port between 20000 and 29999")
}

/// Reads the admin API with the process's token.
func adminGET(_ pnyx: PnyxProcess, _ path: String) async throws -> RawHTTP.Response {
    RawHTTP.Response(
        raw: try await RawHTTP.exchange(
            port: pnyx.adminPort ?? 0,
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(pnyx.adminToken)\r\nConnection: close\r\n\r\n"))
}
