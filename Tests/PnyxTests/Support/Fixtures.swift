import Foundation

/// Configuration text for tests: one site `vote.test` in front of `originPort`, listening on port 0.
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
    """
}

/// A TCP port nobody listens on (bound then released).
func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Reads the admin API with the process's token.
func adminGET(_ pnyx: PnyxProcess, _ path: String) async throws -> RawHTTP.Response {
    RawHTTP.Response(
        raw: try await RawHTTP.exchange(
            port: pnyx.adminPort ?? 0,
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(pnyx.adminToken)\r\nConnection: close\r\n\r\n"))
}
