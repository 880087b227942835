import Foundation
import Testing

/// The opt-in public status page over real sockets: up, results last updated, protections, down when the origin
/// fails its health checks; off for sites that do not ask for it; a bad value refused at load.
@Suite("Public status page")
struct StatusPageTests {
    @Test("status_page: up with protections listed, results time after a fetch, down when the origin stops; HTML says votes are unaffected")
    func statusPage() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(
                originPort: origin.port,
                extraSite: """
                    health_check: { path: /, interval: 300ms, timeout: 3s, fails: 2, passes: 1 }  # a refused connection fails at once; a slow CI machine does not
                    status_page: { results_path: /page, title: "Clearwater County Elections" }
                    waf: { engine: native }
                    """))
        defer { Task { await pnyx.stop() } }
        let first = try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/status", host: "vote.test")
        #expect(first.status == 200 && first.header("content-type") == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "up")
        #expect(json["results_updated"] == nil || json["results_updated"] is NSNull)
        #expect((json["protections"] as? [String])?.contains { $0.hasPrefix("Attack filtering") } == true)
        #expect((json["votes"] as? String)?.contains("cannot change any vote") == true)
        #expect(!origin.requests.contains { $0.path.contains("pnyx") })

        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page", host: "vote.test").status == 200)
        let updated = try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/status", host: "vote.test")
        #expect(updated.body.contains("\"results_updated\":\"20"))

        let page = try await RawHTTP.get(port: pnyx.httpPort, path: "/.pnyx/status", host: "vote.test")
        #expect(page.status == 200 && page.body.contains("Clearwater County Elections: website status"))
        #expect(page.body.contains("<p class=\"status\">Up</p>") && page.body.contains("does not count votes"))
        #expect(page.header("content-security-policy")?.contains("default-src 'none'") == true)

        await origin.stop()
        let wentDown = try await eventually(within: .seconds(10)) {
            try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/status", host: "vote.test").body.contains("\"status\":\"down\"")
        }
        #expect(wentDown)
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/.well-known/pnyx/status", host: "vote.test").body.contains("not answering"))
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/.pnyx/status", host: "vote.test").body.contains("Down"))
    }

    @Test("without status_page the paths go to the origin; a bad value is refused with its line")
    func optIn() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let response = try await RawHTTP.get(port: pnyx.httpPort, path: "/.pnyx/status", host: "vote.test")
        #expect(response.status == 404 && origin.requests.contains { $0.path == "/.pnyx/status" })

        let dir = try PnyxProcess.makeDirectory()
        let path = dir.appendingPathComponent("bad.yaml").path
        try siteConfig(originPort: 9, extraSite: "status_page: { results_path: results }").replacingOccurrences(of: "DATA_DIR", with: dir.path)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let check = try await run(PnyxProcess.binary.path, ["check-config", path])
        #expect(check.status == 1 && check.error.contains("status_page.results_path") && check.error.contains("expected a path"))
    }
}
