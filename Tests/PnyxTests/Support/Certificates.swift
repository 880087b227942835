import Foundation

/// A throw-away CA and leaf certificates made with the openssl CLI, for TLS tests.
struct TestCertificates {
    let directory: URL
    var caPath: String { directory.appendingPathComponent("ca.pem").path }
    func certificate(_ host: String) -> String { directory.appendingPathComponent("\(host).pem").path }
    func key(_ host: String) -> String { directory.appendingPathComponent("\(host).key").path }

    static func make(hosts: [String]) async throws -> TestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-certs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let d = dir.path
        try check(await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2", "-subj", "/CN=Pnyx Test CA"]))
        for host in hosts {
            let ext = "\(d)/\(host).ext"
            try "subjectAltName=DNS:\(host)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                .write(toFile: ext, atomically: true, encoding: .utf8)
            try check(await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(d)/\(host).key", "-out", "\(d)/\(host).csr", "-subj", "/CN=\(host)"]))
            try check(await run("openssl", ["x509", "-req", "-in", "\(d)/\(host).csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                "-CAcreateserial", "-out", "\(d)/\(host).pem", "-days", "2", "-extfile", ext]))
        }
        return TestCertificates(directory: dir)
    }

    private static func check(_ result: (status: Int32, output: String, error: String)) throws {
        if result.status != 0 { throw TestFailure("openssl failed: \(result.error)") }
    }
}
