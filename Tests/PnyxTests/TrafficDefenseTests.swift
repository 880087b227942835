import NIOCore
import NIOHTTP1
import PnyxConfig
import PnyxCore
import PnyxDefense
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Traffic defense: counters, address lists, rate-limit rules")
struct TrafficDefenseTests {
    @Test("the sliding window counts per key, slides, and forgets")
    func slidingWindow() {
        let table = RateCounterTable(slots: 1024)
        let period: UInt64 = 10_000
        // Five hits at t = 0..4 s in window 0.
        for i in 0..<5 { #expect(table.hit(key: 42, now: UInt64(i) * 1000, period: period) == i + 1) }
        // Another key is counted separately.
        #expect(table.hit(key: 43, now: 4000, period: period) == 1)
        // Half-way through the next window, half of the previous window still counts: 5 × 0.5 + 1.
        #expect(table.hit(key: 42, now: 15_000, period: period) == 4)
        // Two windows later the key starts again from one.
        #expect(table.hit(key: 42, now: 40_000, period: period) == 1)
    }

    @Test("memory stays bounded under a million distinct keys; keys that find no slot fail open")
    func boundedUnderFlood() {
        let table = RateCounterTable(slots: 4096)
        var untracked = 0
        for key in 0..<1_000_000 as Range<UInt64> {
            let hashed = key &* 0x9E37_79B9_7F4A_7C15
            if table.hit(key: hashed, now: 1000, period: 60_000) == nil { untracked += 1 }
        }
        #expect(table.slotCount == 4096)
        #expect(untracked > 900_000)  // the table is full: most flood keys are not tracked…
        #expect(table.untracked.load(ordering: .relaxed) == untracked)
        // …and a key that holds a slot keeps being counted exactly.
        let table2 = RateCounterTable(slots: 4096)
        #expect(table2.hit(key: 7, now: 0, period: 60_000) == 1)
        for key in 0..<100_000 as Range<UInt64> { _ = table2.hit(key: key &* 0xD6E8_FEB8_6659_FD93, now: 0, period: 60_000) }
        #expect(table2.hit(key: 7, now: 1, period: 60_000) == 2)
    }

    @Test("count: origin counts only requests forwarded to the origin, and then blocks at the head")
    func countOriginOnly() {
        let site = Site(
            configuration: SiteConfiguration(
                name: SiteName("county"), hosts: ["vote.test"], origins: [],
                rateLimits: [
                    RateLimitRule(name: "origin", pathPrefix: "/page", key: .ip, requests: 3, period: .seconds(10), countOriginOnly: true),
                    RateLimitRule(name: "all", pathPrefix: "/all", key: .ip, requests: 3, period: .seconds(10)),
                ]))
        let filter = RateLimitFilter(sites: [site], counters: RateCounterTable(slots: 1024), penalties: PenaltyTable(slots: 1024))
        func request(_ path: String) -> RequestContext {
            requestContext(site: site, client: "198.51.100.1", path: path, at: 1000)
        }
        func blocked(_ verdict: Verdict) -> Bool {
            if case .block = verdict { return true }
            return false
        }
        // Answered by Pnyx (never forwarded): the origin-only rule lets any number through.
        for _ in 0..<10 { #expect(!blocked(filter.requestHead(request("/page")))) }
        // Three forwarded requests use the budget; the fourth is refused before it is forwarded.
        for _ in 0..<3 {
            let context = request("/page")
            #expect(!blocked(filter.requestHead(context)))
            var head = UpstreamRequestHead(method: .GET, uri: "/page", headers: HeaderBlock())
            filter.upstream(context, head: &head)
        }
        #expect(blocked(filter.requestHead(request("/page"))))
        // A rule that counts every request blocks the fourth request whether or not it was forwarded.
        var results: [Bool] = []
        for _ in 0..<4 { results.append(blocked(filter.requestHead(request("/all/x")))) }
        #expect(results == [false, false, false, true])
    }

    @Test("a whole-site budget holds back the heavy clients that exhaust it, never a light one")
    func siteShare() {
        let site = Site(
            configuration: SiteConfiguration(
                name: SiteName("county"), hosts: ["vote.test"], origins: [],
                rateLimits: [RateLimitRule(name: "site", key: .site, requests: 200, period: .seconds(10))]))
        let filter = RateLimitFilter(sites: [site], counters: RateCounterTable(slots: 1024), penalties: PenaltyTable(slots: 1024))
        func passes(_ client: String) -> Bool {
            let context = requestContext(site: site, client: client, at: 2000)
            if case .continue = filter.requestHead(context) { return true }
            return false
        }
        // One heavy client uses the whole budget, then is refused (and stays refused).
        let heavy = (0..<300).map { _ in passes("203.0.113.1") }
        #expect(heavy.prefix(200).allSatisfy { $0 })
        #expect(heavy.suffix(100).allSatisfy { !$0 })
        // Over budget, a voter with a couple of requests (within 1/100 of the budget) still gets through.
        #expect(passes("198.51.100.7") && passes("198.51.100.7"))
        // A second heavy client is refused once it goes past its share.
        let second = (0..<5).map { _ in passes("203.0.113.2") }
        #expect(second == [true, true, false, false, false])
    }

    @Test("the penalty box holds a key until its time, then lets it go")
    func penalties() {
        let box = PenaltyTable(slots: 1024)
        #expect(box.remaining(key: 99, nowSeconds: 100) == nil)
        box.penalize(key: 99, untilSeconds: 160, nowSeconds: 100)
        #expect(box.remaining(key: 99, nowSeconds: 100) == 60)
        #expect(box.remaining(key: 99, nowSeconds: 159) == 1)
        #expect(box.remaining(key: 99, nowSeconds: 160) == nil)
        #expect(box.remaining(key: 98, nowSeconds: 100) == nil)
    }

    @Test("address ranges: IPv4 and IPv6, overlaps and adjacency merged, same answers as a linear scan")
    func addressRanges() {
        let networks = ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/25", "192.0.2.128/25", "2001:db8::/32", "198.51.100.7"]
            .map { CIDR($0)! }
        let set = AddressRangeSet(networks)
        #expect(set.rangeCount == 4)  // 10/8 swallows 10.1/16; the two /25s touch
        for (text, expected) in [
            ("10.200.3.4", true), ("11.0.0.0", false), ("192.0.2.200", true), ("192.0.3.0", false),
            ("2001:db8:ffff::1", true), ("2001:db9::", false), ("198.51.100.7", true), ("198.51.100.8", false),
            ("::ffff:10.0.0.1", true),
        ] {
            #expect(set.contains(IPAddress(text)!) == expected, "\(text)")
        }
        // Thousands of random networks: binary search agrees with a linear scan.
        var generator = SystemRandomNumberGenerator()
        var many: [CIDR] = []
        for _ in 0..<3000 {
            let v = UInt32.random(in: 0...UInt32.max, using: &generator)
            many.append(CIDR("\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)/\(Int.random(in: 12...32))")!)
        }
        let fast = AddressRangeSet(many)
        for _ in 0..<2_000 {
            let v = UInt32.random(in: 0...UInt32.max, using: &generator)
            let address = IPAddress("\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)")!
            #expect(fast.contains(address) == many.contains { $0.contains(address) })
        }
    }

    @Test("rate_limits and access are read into typed rules; mistakes name their line; absent means the default")
    func config() throws {
        let yaml = """
            listen: { http: 127.0.0.1:8080 }
            access:
              allow: [10.9.0.0/16]
              deny: [203.0.113.0/24, "2001:db8::/32"]
            sites:
              - name: county
                hosts: [vote.example.gov]
                origins: [http://127.0.0.1:9000]
                access: { deny: [198.51.100.0/24] }
                rate_limits:
                  - name: register
                    match: { path: /register, methods: [post] }
                    key: ip
                    requests: 10
                    period: 1m
                    timeout: 5m
                  - name: api
                    match: { path: /api/ }
                    key: header:X-Api-Key
                    requests: 100
                    period: 10s
                    action: log
              - name: other
                hosts: [other.example.gov]
                origins: [http://127.0.0.1:9001]
              - name: open
                hosts: [open.example.gov]
                origins: [http://127.0.0.1:9002]
                rate_limits: []
            """
        let config = try ConfigLoader.parse(yaml: yaml)
        #expect(config.access.allow == [CIDR("10.9.0.0/16")!])
        #expect(config.access.deny.count == 2)
        let county = config.sites[0]
        #expect(county.access.deny == [CIDR("198.51.100.0/24")!])
        #expect(county.rateLimits.count == 2)
        #expect(county.rateLimits[0].methods == [.POST])
        #expect(county.rateLimits[0].pathPrefix == "/register")
        #expect(county.rateLimits[0].period == .seconds(60))
        #expect(county.rateLimits[0].timeout == .seconds(300))
        #expect(county.rateLimits[1].key == .header("x-api-key"))
        #expect(county.rateLimits[1].action == .log)
        #expect(config.sites[1].rateLimits == [RateLimitRule.siteDefault])
        #expect(config.sites[2].rateLimits.isEmpty)

        let bad = """
            listen: { http: 127.0.0.1:8080 }
            access: { deny: [not-an-ip] }
            sites:
              - name: county
                hosts: [vote.example.gov]
                origins: [http://127.0.0.1:9000]
                rate_limits:
                  - name: x
                    key: fingerprint
                    requests: 0
                    period: 1m
                    action: ban
            """
        do {
            _ = try ConfigLoader.parse(yaml: bad, file: "pnyx.yaml")
            Issue.record("a bad file was accepted")
        } catch {
            let text = error.errors.map(\.description).joined(separator: "\n")
            #expect(text.contains("pnyx.yaml:2:"))
            #expect(text.contains("access.deny[0]"))
            #expect(text.contains("pnyx.yaml:9:") && text.contains("rate_limits[0].key"))
            #expect(text.contains("rate_limits[0].requests"))
            #expect(text.contains("pnyx.yaml:12:") && text.contains("rate_limits[0].action"))
        }
    }
}

@Suite("Traffic defense over real sockets")
struct TrafficDefenseLiveTests {
    @Test("over budget: 429 with Retry-After (JSON for API clients), the origin is spared, the penalty holds")
    func rateLimited() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(
                originPort: origin.port,
                extraSite: """
                    rate_limits:
                      - name: lookup
                        match: { path: /page, methods: [GET] }
                        key: ip
                        requests: 3
                        period: 10s
                        timeout: 30s
                    """))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        for _ in 0..<3 { #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status == 200) }
        let limited = try await RawHTTP.get(port: pnyx.httpPort, path: "/page")
        #expect(limited.status == 429)
        let retryAfter = try #require(limited.header("retry-after").flatMap { Int($0) })
        #expect(retryAfter >= 25 && retryAfter <= 30)
        let json = try await RawHTTP.get(
            port: pnyx.httpPort, path: "/page", headers: [("Accept", "application/json")])
        #expect(json.status == 429)
        #expect(json.header("content-type") == "application/json")
        #expect(json.body.contains("\"status\":429"))
        #expect(origin.requests.filter { $0.path == "/page" }.count == 3)
        // Paths outside the rule are not limited.
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/").status == 200)
        // The block is a security event (recorded once for the run of blocks).
        #expect(await eventually {
            ((try? await adminGET(pnyx, "/api/v1/events?limit=50"))?.body ?? "").contains("\"rule\":\"lookup\"")
        })
        let events = try await adminGET(pnyx, "/api/v1/events?limit=50")
        #expect(events.body.contains("\"filter\":\"rate_limit\""))
        #expect(events.body.contains("\"rule\":\"lookup\""))
    }

    @Test("deny lists answer 403; an allow list wins over the deny list and over rate limits")
    func accessLists() async throws {
        let origin = try await TestOrigin.start()
        let denied = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraSite: "access: { deny: [127.0.0.0/8] }"))
        let response = try await RawHTTP.get(port: denied.httpPort, path: "/")
        #expect(response.status == 403)
        #expect(response.body.contains("not allowed"))
        await denied.stop()

        let allowed = try await PnyxProcess.start(
            yaml: siteConfig(
                originPort: origin.port, extraTop: "access: { allow: [127.0.0.1] }",
                extraSite: """
                    access: { deny: [127.0.0.0/8] }
                    rate_limits: [{ name: tight, key: ip, requests: 1, period: 1m, timeout: 1m }]
                    """))
        defer { Task { await allowed.stop(); await origin.stop() } }
        for _ in 0..<5 { #expect(try await RawHTTP.get(port: allowed.httpPort, path: "/").status == 200) }
    }
}

@Suite("Connection limits")
struct ConnectionLimitTests {
    @Test("per-address and overall limits; trusted proxies count only overall; release frees the slot")
    func gate() {
        let gate = ConnectionGate(slots: 1024)
        let a = IPAddress("192.0.2.1")!, b = IPAddress("2001:db8::2")!
        #expect(gate.admit(a, maxTotal: 5, maxPerAddress: 2))
        #expect(gate.admit(a, maxTotal: 5, maxPerAddress: 2))
        #expect(!gate.admit(a, maxTotal: 5, maxPerAddress: 2))
        #expect(gate.openConnections(from: a) == 2)
        #expect(gate.admit(b, maxTotal: 5, maxPerAddress: 2))
        #expect(gate.admit(nil, maxTotal: 5, maxPerAddress: 2))  // a trusted proxy
        #expect(gate.admit(nil, maxTotal: 5, maxPerAddress: 2))
        #expect(!gate.admit(nil, maxTotal: 5, maxPerAddress: 2))  // overall limit
        #expect(gate.open == 5)
        #expect(gate.refusedPerAddress.load(ordering: .relaxed) == 1)
        #expect(gate.refusedTotal.load(ordering: .relaxed) == 1)
        gate.release(a)
        #expect(gate.openConnections(from: a) == 1)
        #expect(gate.admit(a, maxTotal: 5, maxPerAddress: 2))
        gate.release(a)
        gate.release(a)
        #expect(gate.openConnections(from: a) == 0)
        #expect(gate.open == 3)
    }

    @Test("over a real socket: the third connection from one address is closed at once, the first two still work")
    func perAddressLive() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraTop: "limits: { max_connections_per_ip: 2 }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let first = try TCPProbe(port: pnyx.httpPort)
        let second = try TCPProbe(port: pnyx.httpPort)
        try await Task.sleep(for: .milliseconds(200))
        let third = try TCPProbe(port: pnyx.httpPort)
        #expect(third.closedByPeer(within: 2000))
        #expect(!first.closedByPeer(within: 200))
        let metrics = try await adminGET(pnyx, "/metrics")
        #expect(metrics.body.contains("pnyx_connections_refused_total{limit=\"per_ip\"} 1"))
        first.close()
        // The slot is released when Pnyx sees the close; until then a new connection may still be refused.
        #expect(await eventually { (try? await RawHTTP.get(port: pnyx.httpPort, path: "/"))?.status == 200 })
        second.close()
        third.close()
    }
}

