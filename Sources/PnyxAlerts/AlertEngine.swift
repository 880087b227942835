import PnyxCore

/// Turns what the node observes (security events, refusal counts) into alerts: classified, deduplicated, and
/// spikes measured against each site's baseline. A value type with no clock or I/O of its own, so it is tested
/// with made-up times.
public struct AlertEngine: Sendable {
    private var spikes = SpikeDetector()
    private var repeats = RepeatFilter()

    public init() {}

    /// Alerts for the events in a batch, in order.
    public mutating func take(events: [SecurityEvent], settings: AlertSettings, node: String) -> [Alert] {
        var alerts: [Alert] = []
        for event in events {
            guard let classified = EventAlerts.classify(event) else { continue }
            var held = 0
            if let key = classified.repeatKey {
                guard let admitted = repeats.admit(key: key, nowMillis: event.timeMillis, windowMillis: settings.repeatWindow.millis)
                else { continue }
                held = admitted
            }
            alerts.append(
                Alert(
                    timeMillis: event.timeMillis, kind: classified.kind, severity: classified.severity, site: event.site,
                    title: classified.title, detail: classified.detail, suppressed: held, node: node))
        }
        return alerts
    }

    /// Adds refusal counts per site (from the request tally), then checks for spikes starting or ending.
    public mutating func take(refused: [(site: String, count: Int)], nowMillis: Int64, settings: AlertSettings, node: String) -> [Alert] {
        for (site, count) in refused where count > 0 {
            spikes.record(site: site, count: count, nowMillis: nowMillis)
        }
        let policy = settings.spike
        let window = Self.minutes(policy.window)
        return spikes.evaluate(nowMillis: nowMillis, policy: policy).map { change in
            switch change {
            case .started(let site, let count, let baseline, let threshold):
                let usual = baseline < 1 ? "almost none" : "about \(Int(baseline.rounded()))"
                return Alert(
                    timeMillis: nowMillis, kind: .spike, severity: .warning, site: site,
                    title: "Spike in refused requests at \(site): \(count) in \(window)",
                    detail: "Pnyx refused \(count) requests at \(site) in the last \(window), against \(usual) per \(window) over the previous \(Self.minutes(policy.baseline)) (alert threshold \(threshold)). The protections are working; look at the dashboard's events for the kind and sources. Voters' requests that pass the checks are still served.",
                    node: node)
            case .ended(let site, let peak, let total, let minutes):
                return Alert(
                    timeMillis: nowMillis, kind: .spike, severity: .info, site: site,
                    title: "Spike over at \(site)",
                    detail: "Refused requests at \(site) are back near the usual level. The spike lasted about \(minutes) minutes, peaked at \(peak) per \(window) and counted \(total) refused requests in all.",
                    node: node)
            }
        }
    }

    static func minutes(_ duration: Duration) -> String {
        let m = max(1, Int(duration.components.seconds / 60))
        if m % 60 == 0 { return m == 60 ? "hour" : "\(m / 60) hours" }
        return m == 1 ? "minute" : "\(m) minutes"
    }
}

extension Duration {
    var millis: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
