import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore
import PnyxDefense
import Synchronization
import Testing

@Suite("Bans: strikes, expiry, clearing")
struct BanTests {
    final class RecordingSink: EventSink {
        let events = Mutex<[SecurityEvent]>([])
        func emit(_ event: SecurityEvent) { events.withLock { $0.append(event) } }
    }

    static let site = testSite()

    /// A finished request from `address` at `seconds` on a fake monotonic clock.
    static func request(
        _ address: String, at seconds: Double, outcome: RequestOutcome, status: Int, decidedBy: FilterName? = nil,
        allowListed: Bool = false, sink: any EventSink = DiscardingEventSink()
    ) -> RequestContext {
        let context = requestContext(site: site, client: address, path: "/wp-login.php", at: seconds, sink: sink)
        context.outcome = outcome
        context.status = status
        context.decidedBy = decidedBy
        context.allowListed = allowListed
        context.end = context.start
        return context
    }

    @Test("N refused requests within the window ban the address; fewer, or spread out, do not")
    func strikes() {
        let registry = BanRegistry()
        let sink = RecordingSink()
        let filter = BanFilter(
            policy: BanPolicy(after: 3, within: .seconds(10), duration: .seconds(60), statuses: [404]),
            registry: registry, strikes: RateCounterTable(slots: 1024))
        let base = 1000.0
        // Two rate-limit blocks and a 200: no ban.
        filter.complete(Self.request("198.51.100.7", at: base, outcome: .blocked, status: 429, decidedBy: "rate_limit"))
        filter.complete(Self.request("198.51.100.7", at: base + 1, outcome: .blocked, status: 429, decidedBy: "rate_limit"))
        filter.complete(Self.request("198.51.100.7", at: base + 2, outcome: .forwarded, status: 200))
        #expect(registry.ban(on: IPAddress("198.51.100.7")!, nowSeconds: 1003) == nil)
        // A listed status (404) is the third strike: banned, one event.
        filter.complete(
            Self.request("198.51.100.7", at: base + 3, outcome: .forwarded, status: 404, sink: sink))
        let ban = registry.ban(on: IPAddress("198.51.100.7")!, nowSeconds: 1004)
        #expect(ban?.untilSeconds == 1063)
        #expect(sink.events.withLock { $0.count } == 1)
        #expect(sink.events.withLock { $0.first?.action } == .ban)
        #expect(sink.events.withLock { $0.first?.evidence.contains("3 refused requests within 10s") } == true)
        // The banned client is refused at the head with Retry-After, without a new event per request.
        let verdict = filter.requestHead(Self.request("198.51.100.7", at: base + 10, outcome: .forwarded, status: 0))
        guard case .block(let block) = verdict else {
            Issue.record("expected a block, got \(verdict)")
            return
        }
        #expect(block.status == .forbidden)
        #expect(block.retryAfterSeconds == 53)
        #expect(block.record == false)
        // Strikes spread over more than the window (one every 20 s) never ban another address.
        for i in 0..<10 {
            filter.complete(
                Self.request("198.51.100.8", at: base + Double(i) * 20, outcome: .blocked, status: 403, decidedBy: "waf"))
        }
        #expect(registry.ban(on: IPAddress("198.51.100.8")!, nowSeconds: 1200) == nil)
        // The ban filter's own refusals are not strikes, and allow-listed clients are never counted.
        for i in 0..<10 {
            filter.complete(
                Self.request("198.51.100.9", at: base + Double(i) * 0.1, outcome: .blocked, status: 403, decidedBy: "ban"))
            filter.complete(
                Self.request(
                    "198.51.100.10", at: base + Double(i) * 0.1, outcome: .blocked, status: 429, decidedBy: "rate_limit",
                    allowListed: true))
        }
        #expect(registry.list(nowSeconds: 1010).map(\.address.description) == ["198.51.100.7"])
        // An allow-listed request from a banned address is let through.
        let allowed = filter.requestHead(
            Self.request("198.51.100.7", at: base + 11, outcome: .forwarded, status: 0, allowListed: true))
        if case .continue = allowed {} else { Issue.record("an allow-listed client was refused") }
    }

    @Test("bans expire, are swept once, and can be cleared one by one or all at once")
    func expiryAndClear() {
        let registry = BanRegistry()
        func ban(_ text: String, until: UInt64) -> Ban {
            Ban(address: IPAddress(text)!, untilSeconds: until, sinceWallMillis: 0, untilWallMillis: 0, site: "s", reason: "r")
        }
        #expect(registry.add(ban("192.0.2.1", until: 100), nowSeconds: 0))
        #expect(registry.add(ban("2001:db8::1", until: 200), nowSeconds: 0))
        #expect(registry.add(ban("192.0.2.3", until: 300), nowSeconds: 0))
        // Banning an address already banned makes no second ban.
        #expect(!registry.add(ban("192.0.2.1", until: 500), nowSeconds: 10))
        #expect(registry.list(nowSeconds: 50).map(\.address.description) == ["192.0.2.1", "2001:db8::1", "192.0.2.3"])
        #expect(registry.ban(on: IPAddress("192.0.2.1")!, nowSeconds: 99) != nil)
        #expect(registry.ban(on: IPAddress("192.0.2.1")!, nowSeconds: 100) == nil)
        #expect(registry.sweep(nowSeconds: 150).map(\.address.description) == ["192.0.2.1"])
        #expect(registry.sweep(nowSeconds: 150).isEmpty)
        #expect(registry.clear(IPAddress("2001:db8::1"), nowSeconds: 150).count == 1)
        #expect(registry.ban(on: IPAddress("2001:db8::1")!, nowSeconds: 150) == nil)
        #expect(registry.activeCount == 1)
        #expect(registry.clear(nil, nowSeconds: 150).count == 1)
        #expect(registry.activeCount == 0)
        // Bounded: beyond its capacity no new ban is made (and the refusal is counted).
        let small = BanRegistry(capacity: 2)
        #expect(small.add(ban("192.0.2.1", until: 100), nowSeconds: 0))
        #expect(small.add(ban("192.0.2.2", until: 100), nowSeconds: 0))
        #expect(!small.add(ban("192.0.2.3", until: 100), nowSeconds: 0))
        #expect(small.refused.load(ordering: .relaxed) == 1)
    }
}

@Suite("Bans over real sockets")
struct BanLiveTests {
    static let bans = "bans: { after: 3, within: 1m, duration: 8s, statuses: [404] }"

    @Test("a client that earns N strikes is banned (403, Retry-After, event), listed and cleared by the CLI, and the ban expires")
    func banLifecycle() async throws {
        let origin = try await TestOrigin.start()
        // `pnyx bans` reads the admin address from the file, so it needs a real port there.
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: Self.bans, adminPort: try unusedPort()))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        for _ in 0..<3 { #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/wp-admin/setup.php").status == 404) }
        let banned = try await RawHTTP.get(port: pnyx.httpPort, path: "/page")
        #expect(banned.status == 403)
        #expect(banned.body.contains("has been blocked"))
        let retryAfter = try #require(banned.header("retry-after").flatMap { Int($0) })
        #expect(retryAfter >= 1 && retryAfter <= 8)
        #expect(origin.requests.filter { $0.path == "/page" }.isEmpty)

        let listed = try await run(PnyxProcess.binary.path, ["bans", "list", "--config", pnyx.configPath])
        #expect(listed.status == 0, "\(listed.error)")
        #expect(listed.output.contains("127.0.0.1"))
        #expect(listed.output.contains("3 refused requests"))
        #expect(await metric(pnyx, "pnyx_bans_active") == 1)

        // The ban expires by itself, and the expiry is an event too.
        #expect(await eventually(within: .seconds(20)) { (try? await RawHTTP.get(port: pnyx.httpPort, path: "/page"))?.status == 200 })
        #expect(await eventually {
            let body = (try? await adminGET(pnyx, "/api/v1/events?limit=50"))?.body ?? ""
            return body.contains("\"action\":\"ban\"") && body.contains("\"rule\":\"ban_expired\"")
        })

        // Banned again, then lifted by hand.
        for _ in 0..<3 { _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/wp-admin/setup.php") }
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status == 403)
        let cleared = try await run(PnyxProcess.binary.path, ["bans", "clear", "127.0.0.1", "--config", pnyx.configPath])
        #expect(cleared.status == 0, "\(cleared.error)")
        #expect(cleared.output.contains("\"cleared\":1"))
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status == 200)
        let empty = try await run(PnyxProcess.binary.path, ["bans", "list", "--config", pnyx.configPath])
        #expect(empty.output.contains("no bans in force"))
        let bad = try await run(PnyxProcess.binary.path, ["bans", "clear", "not-an-ip", "--config", pnyx.configPath])
        #expect(bad.status != 0)
    }

    @Test("an allow-listed client is never banned")
    func allowBeatsBan() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: Self.bans + "\naccess: { allow: [127.0.0.1] }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        for _ in 0..<6 { #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/wp-admin/setup.php").status == 404) }
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status == 200)
        #expect(await metric(pnyx, "pnyx_bans_made_total") == 0)
    }
}
