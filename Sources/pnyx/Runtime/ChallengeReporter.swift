import PnyxChallenge
import PnyxCore
import PnyxServer
import PnyxStore
import ServiceLifecycle

/// Turns the challenge's counters into security events once a minute per site (issued, solved, failed, passed…),
/// so the dashboard can chart solve and failure rates without one event per page view.
struct ChallengeReporter: Service {
    let stats: ChallengeStats
    let events: EventQueue
    var interval: Duration = .seconds(60)

    func run() async throws {
        await runPeriodically(every: interval, state: Self.snapshot(stats)) { last, _ in
            let now = Self.snapshot(stats)
            for event in Self.summaries(from: last, to: now, interval: interval) { events.emit(event) }
            last = now
        }
    }

    /// One event per site whose counts moved between two snapshots.
    static func summaries(
        from last: [String: [ChallengeStats.Result: Int]], to now: [String: [ChallengeStats.Result: Int]], interval: Duration
    ) -> [SecurityEvent] {
        now.sorted { $0.key < $1.key }.compactMap { site, counts in
            let before = last[site] ?? [:]
            let changes = ChallengeStats.Result.allCases.compactMap { result -> String? in
                let delta = (counts[result] ?? 0) - (before[result] ?? 0)
                return delta > 0 ? "\(result.rawValue) \(delta)" : nil
            }
            guard !changes.isEmpty else { return nil }
            return SecurityEvent(
                timeMillis: ProxyRuntime.wallMillis(), site: site, client: "-", filter: "challenge", rule: "summary",
                action: .challenge, method: "-", path: "-",
                evidence: changes.joined(separator: ", ") + " in the last \(interval.components.seconds)s", requestID: "-")
        }
    }

    static func snapshot(_ stats: ChallengeStats) -> [String: [ChallengeStats.Result: Int]] {
        var out: [String: [ChallengeStats.Result: Int]] = [:]
        for (site, counters) in stats.all {
            var counts: [ChallengeStats.Result: Int] = [:]
            for result in ChallengeStats.Result.allCases { counts[result] = counters.count(result) }
            out[site] = counts
        }
        return out
    }
}
