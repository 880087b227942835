import Synchronization
import Foundation
import Testing

@Suite("Reload and shutdown")
struct LifecycleTests {
    @Test("reload under continuous traffic loses no request")
    func reloadUnderTraffic() async throws {
        let origin = try await TestOrigin.start()
        let adminPort = try unusedPort()  // `pnyx reload` reads the admin address from the file
        let yaml = siteConfig(originPort: origin.port, adminPort: adminPort)
        let pnyx = try await PnyxProcess.start(yaml: yaml)
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let reloading = Flag()
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    // Requests run until every reload is done (at least 3 s), however slow the machine is.
                    var seen: [Int] = []
                    let end = ContinuousClock.now + .seconds(3)
                    while ContinuousClock.now < end || reloading.isSet {
                        seen.append(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status)
                    }
                    return seen
                }
            }
            group.addTask {
                defer { reloading.set(false) }
                for i in 0..<6 {
                    try await Task.sleep(for: .milliseconds(400))
                    // Alternate between two valid configurations (the second adds a host).
                    try pnyx.rewriteConfig(
                        i % 2 == 0
                            ? siteConfig(originPort: origin.port, hosts: "[vote.test, www.vote.test]", adminPort: adminPort) : yaml)
                    if i % 2 == 0 {
                        pnyx.signal(SIGHUP)
                    } else {
                        let reload = try await run(PnyxProcess.binary.path, ["reload", "--config", pnyx.configPath])
                        #expect(reload.status == 0, "\(reload.error)")
                    }
                }
                return []
            }
            var all: [Int] = []
            for try await part in group { all += part }
            return all
        }
        #expect(statuses.count >= 8)
        #expect(statuses.allSatisfy { $0 == 200 }, "non-200: \(statuses.filter { $0 != 200 })")
        #expect(pnyx.log.contains("configuration reloaded"))
        let status = try await adminGET(pnyx, "/api/v1/status")
        #expect(status.body.contains("\"generation\":7"))
    }

    @Test("a bad reload is refused with the reason and the old configuration keeps serving")
    func badReload() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        try pnyx.rewriteConfig(siteConfig(originPort: origin.port).replacingOccurrences(of: "origins:", with: "orgins:"))
        let reload = try await run(PnyxProcess.binary.path, ["reload", "--config", pnyx.configPath])
        #expect(reload.status != 0)
        #expect(reload.error.contains("unknown key 'orgins'"))
        // Through the admin API the running process refuses it too, and says why.
        try pnyx.rewriteConfig(siteConfig(originPort: origin.port, hosts: "[\"not a host\"]"))
        pnyx.signal(SIGHUP)
        #expect(await eventually { pnyx.log.contains("reload refused") })
        let response = try await RawHTTP.get(port: pnyx.httpPort, path: "/page")
        #expect(response.status == 200)
        let status = try await adminGET(pnyx, "/api/v1/status")
        #expect(status.body.contains("\"generation\":1"))
    }

    @Test("SIGTERM drains in-flight requests, then exits 0")
    func sigtermDrains() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port))
        defer { Task { await origin.stop() } }

        async let slow = RawHTTP.get(port: pnyx.httpPort, path: "/slow?ms=3000")
        // Signal only once the slow request is in flight at the origin.
        #expect(await eventually { origin.requests.contains { $0.path.hasPrefix("/slow") } })
        pnyx.signal(SIGTERM)
        // New connections are refused once draining started.
        #expect(await eventually(within: .seconds(2)) {
            (try? await RawHTTP.get(port: pnyx.httpPort, path: "/page"))?.status == nil
        })
        let response = try await slow
        #expect(response.status == 200)
        #expect(response.body == "slow done\n")
        let exit = await pnyx.waitForExit()
        #expect(exit == 0)
        #expect(pnyx.log.contains("pnyx draining in-flight requests"))
    }

    @Test("an idle client that never finishes its request head gets 408")
    func headerReadTimeout() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: "limits: { header_read_timeout: 1s, idle_timeout: 10s }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let started = ContinuousClock.now
        let raw = try await RawHTTP.exchange(port: pnyx.httpPort, "GET / HTTP/1.1\r\nHost: vote.te", timeout: .seconds(15))
        #expect(raw.hasPrefix("HTTP/1.1 408"))
        // The header timeout (1 s), not the idle timeout (10 s): room for a loaded machine in between.
        #expect(ContinuousClock.now - started < .seconds(6))
        #expect(origin.requests.isEmpty)
    }
}

/// A flag several tasks read and one clears.
final class Flag: Sendable {
    private let value = Mutex(true)
    var isSet: Bool { value.withLock { $0 } }
    func set(_ newValue: Bool) { value.withLock { $0 = newValue } }
}
