import NIOCore
import NIOHTTP1
import PnyxCore
import PnyxDefense
import Testing

@Suite("Automatic escalation")
struct EscalationTests {
    static func policy() -> EscalationPolicy {
        var policy = EscalationPolicy()
        policy.minRate = 20
        policy.rateFactor = 5
        policy.raiseAfter = .seconds(5)
        policy.relaxAfter = .seconds(30)
        return policy
    }

    @Test("a flood far above the learned baseline raises the posture step by step; calm lowers it, with hysteresis")
    func floodAndCalm() {
        var detector = EscalationDetector(policy: Self.policy())
        // Ten minutes of ordinary traffic (100 requests/s) teach the baseline.
        for _ in 0..<600 { #expect(detector.observe(SiteSample(requests: 100, forwarded: 100, originMillis: 2000)) == nil) }
        #expect(detector.baseline > 80 && detector.baseline <= 100)
        // A flood of 2000 requests/s: suspicious, but only after raise_after does the posture rise.
        for _ in 0..<4 { #expect(detector.observe(SiteSample(requests: 2000, forwarded: 2000)) == nil) }
        let raised = detector.observe(SiteSample(requests: 2000, forwarded: 2000))
        #expect(raised?.from == .normal && raised?.to == .elevated)
        #expect(raised?.reasons.first?.contains("the baseline") == true)
        let baselineDuringAttack = detector.baseline
        for _ in 0..<4 { #expect(detector.observe(SiteSample(requests: 2000)) == nil) }
        #expect(detector.observe(SiteSample(requests: 2000))?.to == .underAttack)
        // It never goes beyond under attack, and the attack does not teach the baseline.
        for _ in 0..<20 { #expect(detector.observe(SiteSample(requests: 2000)) == nil) }
        #expect(detector.baseline == baselineDuringAttack)
        // Hysteresis: at 300/s (below the raising threshold of ~500/s, above half of it) it stays raised.
        for _ in 0..<60 { #expect(detector.observe(SiteSample(requests: 300)) == nil) }
        #expect(detector.posture == .underAttack)
        // Calm for relax_after lowers one level at a time.
        for _ in 0..<29 { #expect(detector.observe(SiteSample(requests: 100)) == nil) }
        #expect(detector.observe(SiteSample(requests: 100))?.to == .elevated)
        for _ in 0..<29 { #expect(detector.observe(SiteSample(requests: 100)) == nil) }
        #expect(detector.observe(SiteSample(requests: 100))?.to == .normal)
    }

    @Test("at start-up the baseline is learned first: ordinary traffic far above min_rate does not escalate")
    func warmUp() {
        var detector = EscalationDetector(policy: Self.policy())
        for _ in 0..<120 { #expect(detector.observe(SiteSample(requests: 400, forwarded: 400)) == nil) }
        #expect(detector.baseline == 400)
        #expect(detector.posture == .normal)
    }

    @Test("refused requests, a failing origin and a slow origin are reasons too; quiet sites never escalate")
    func otherSignals() {
        var blocked = EscalationDetector(policy: Self.policy())
        var change: EscalationDetector.Change?
        for _ in 0..<5 { change = blocked.observe(SiteSample(requests: 60, blocked: 40, forwarded: 20)) ?? change }
        #expect(change?.reasons == ["66% of requests refused"])

        var failing = EscalationDetector(policy: Self.policy())
        change = nil
        for _ in 0..<5 { change = failing.observe(SiteSample(requests: 60, forwarded: 60, originErrors: 30)) ?? change }
        #expect(change?.reasons == ["origin failing 50% of requests"])

        var slow = EscalationDetector(policy: Self.policy())
        change = nil
        for _ in 0..<5 { change = slow.observe(SiteSample(requests: 60, forwarded: 60, originMillis: 60 * 4000)) ?? change }
        #expect(change?.reasons == ["origin answering in 4000 ms"])

        // Below min_rate nothing counts, however bad it looks.
        var quiet = EscalationDetector(policy: Self.policy())
        for _ in 0..<100 { #expect(quiet.observe(SiteSample(requests: 10, blocked: 10, forwarded: 10, originErrors: 10)) == nil) }
        // Off means off.
        var policy = Self.policy()
        policy.enabled = false
        var off = EscalationDetector(policy: policy)
        for _ in 0..<100 { #expect(off.observe(SiteSample(requests: 100_000, blocked: 100_000)) == nil) }
    }

    @Test("a raised posture tightens per-client budgets on ordinary paths, never on voter-critical ones")
    func tighterLimits() {
        var configuration = SiteConfiguration(
            name: SiteName("county"), hosts: ["vote.test"], origins: [],
            rateLimits: [RateLimitRule(name: "per-ip", key: .ip, requests: 8, period: .seconds(60))])
        configuration.criticalPaths = ["/register"]
        let site = Site(configuration: configuration)
        let registry = SiteTrafficRegistry()
        func allowed(_ path: String, client: String) -> Int {
            let filter = RateLimitFilter(
                sites: [site], counters: RateCounterTable(slots: 1024), penalties: PenaltyTable(slots: 1024), traffic: registry)
            var passed = 0
            for _ in 0..<20 {
                let context = requestContext(site: site, client: client, path: path, at: 5000)
                if case .continue = filter.requestHead(context) { passed += 1 }
            }
            return passed
        }
        #expect(allowed("/news", client: "198.51.100.1") == 8)
        registry.traffic(for: SiteName("county")).setPosture(.elevated)
        #expect(allowed("/news", client: "198.51.100.2") == 4)
        #expect(allowed("/register/form", client: "198.51.100.3") == 8)
        registry.traffic(for: SiteName("county")).setPosture(.underAttack)
        #expect(allowed("/news", client: "198.51.100.4") == 2)
        #expect(allowed("/register", client: "198.51.100.5") == 8)
    }
}

@Suite("Automatic escalation over real sockets")
struct EscalationLiveTests {
    @Test("a burst raises the site's posture (metric and event with reasons); when it stops, the posture relaxes")
    func live() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(
                originPort: origin.port,
                extraSite: """
                    critical_paths: [/register]
                    escalation: { min_rate: 10, raise_after: 2s, relax_after: 2s }
                    rate_limits: [{ name: tight, key: ip, requests: 20, period: 1m }]
                    """))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        #expect(await metric(pnyx, "pnyx_site_posture{site=\"county\"}") == 0)
        // Eight clients sending back to back (well above min_rate even on a loaded machine), most of it refused by
        // the rate limit: a flood being held off. They stop once the posture is up, or after 20 s.
        let running = Flag()
        let burst = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let end = ContinuousClock.now + .seconds(20)
                        while running.isSet && ContinuousClock.now < end {
                            _ = try? await RawHTTP.get(port: pnyx.httpPort, path: "/page")
                        }
                    }
                }
            }
        }
        #expect(await eventually(within: .seconds(20)) { await metric(pnyx, "pnyx_site_posture{site=\"county\"}") ?? 0 >= 1 })
        running.set(false)
        _ = await burst.value
        #expect(await eventually {
            let body = (try? await adminGET(pnyx, "/api/v1/events?limit=50"))?.body ?? ""
            return body.contains("\"filter\":\"escalation\"") && body.contains("normal → elevated")
                && body.contains("of requests refused")
        })
        // Quiet again: after relax_after the posture comes back down, and that is an event too.
        #expect(await eventually(within: .seconds(15)) { await metric(pnyx, "pnyx_site_posture{site=\"county\"}") == 0 })
        #expect(await eventually {
            ((try? await adminGET(pnyx, "/api/v1/events?limit=50"))?.body ?? "").contains("elevated → normal")
        })
    }
}
