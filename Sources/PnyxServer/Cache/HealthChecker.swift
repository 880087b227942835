import NIOCore
import NIOHTTP1
import PnyxCore

/// Active origin health checks: for every site with `health_check`, `GET path` to each origin every interval,
/// marking origins down after `fails` failures in a row and up after `passes` successes. A state change is
/// logged and recorded as an event. Checks of one round run concurrently; a check never outlives its timeout.
public struct HealthChecker: Sendable {
    let runtime: ProxyRuntime
    let group: any EventLoopGroup
    let events: any EventSink

    public init(runtime: ProxyRuntime, group: any EventLoopGroup, events: any EventSink) {
        self.runtime = runtime
        self.group = group
        self.events = events
    }

    /// When each (site, origin) is next due, by the health state's identity.
    public typealias Schedule = [ObjectIdentifier: ContinuousClock.Instant]

    /// One round: checks the origins that are due. Returns the state changes `(site, origin, up)`.
    public func round(_ schedule: inout Schedule) async -> [(String, OriginAddress, Bool)] {
        let now = ContinuousClock.now
        var due: [(SiteRoute, Int, HealthCheckPolicy)] = []
        for route in runtime.snapshots.snapshot.router.routes {
            guard let policy = route.site.configuration.healthCheck else { continue }
            for (i, state) in route.health.enumerated() {
                let id = ObjectIdentifier(state)
                if let next = schedule[id], next > now { continue }
                schedule[id] = now + policy.interval
                due.append((route, i, policy))
            }
        }
        guard !due.isEmpty else { return [] }
        return await withTaskGroup(of: (String, OriginAddress, Bool)?.self) { tasks in
            for (route, i, policy) in due {
                tasks.addTask { await check(route: route, index: i, policy: policy) }
            }
            var changes: [(String, OriginAddress, Bool)] = []
            for await change in tasks { if let change { changes.append(change) } }
            return changes
        }
    }

    func check(route: SiteRoute, index: Int, policy: HealthCheckPolicy) async -> (String, OriginAddress, Bool)? {
        let origin = route.origins[index]
        let state = route.health[index]
        let loop = group.next()
        let pool = runtime.pools.pool(for: loop)
        var headers = HeaderBlock()
        let host = route.site.configuration.hosts.first { !$0.hasPrefix("*.") } ?? origin.address.authority
        _ = headers.add(name: "host", value: host)
        headers.add(literalName: "user-agent", literalValue: "pnyx-health-check")
        let head = UpstreamRequestHead(method: .GET, uri: policy.path, headers: headers)
        let timeout = TimeAmount(policy.timeout)
        let success: Bool
        do {
            let response = try await loop.submit {
                OriginFetch.run(pool: pool, origin: origin, head: head, connectTimeout: timeout, responseTimeout: timeout, maxBody: 1 << 20)
            }.flatMap { $0 }.get()
            success = (200..<400).contains(Int(response.head.status.code))
        } catch {
            success = false
        }
        guard let up = state.record(success: success, policy: policy) else { return nil }
        events.emit(
            SecurityEvent(
                timeMillis: ProxyRuntime.wallMillis(), site: route.site.name.rawValue, client: "-", filter: "health",
                rule: up ? "origin_up" : "origin_down", action: .alert, method: "GET", path: policy.path,
                evidence: "\(origin.address) \(up ? "passes" : "fails") its health check", requestID: "-"))
        return (route.site.name.rawValue, origin.address, up)
    }
}
