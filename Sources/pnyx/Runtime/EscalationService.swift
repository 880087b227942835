import Atomics
import PnyxCore
import PnyxDefense
import PnyxServer
import PnyxStore
import ServiceLifecycle

/// Once a second, takes every escalating site's traffic sample, lets its ``EscalationDetector`` decide the
/// posture, publishes it to the data path (an atomic per site) and records every change as a security event
/// with its reasons. Detectors (and their learned baselines) survive reloads; a site whose policy changed
/// keeps its baseline.
struct EscalationService: Service {
    let registry: SiteTrafficRegistry
    let snapshots: SnapshotStore
    let events: EventQueue
    let changes: ManagedAtomic<Int>
    var interval: Duration = .seconds(1)

    func run() async throws {
        await runPeriodically(every: interval, state: [String: EscalationDetector]()) { detectors, elapsed in
            tick(&detectors, elapsed: elapsed)
        }
    }

    private func tick(_ detectors: inout [String: EscalationDetector], elapsed: Duration) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        for site in snapshots.snapshot.configuration.sites where site.escalation.enabled {
            let name = site.name.rawValue
            let traffic = registry.traffic(for: site.name)
            var detector = detectors[name] ?? EscalationDetector(policy: site.escalation)
            if detector.policy != site.escalation {
                detector = EscalationDetector(policy: site.escalation, baseline: detector.baseline)
                traffic.setPosture(.normal)
            }
            let sample = traffic.take(seconds: seconds)
            if let change = detector.observe(sample) {
                traffic.setPosture(change.to)
                changes.wrappingIncrement(ordering: .relaxed)
                events.emit(
                    SecurityEvent(
                        timeMillis: ProxyRuntime.wallMillis(), site: name, client: "-", filter: "escalation",
                        rule: "posture", action: .alert, method: "-", path: "-",
                        evidence: "\(change.from) → \(change.to): \(change.reasons.joined(separator: "; "))", requestID: "-"))
            }
            detectors[name] = detector
        }
    }
}
