import PnyxCore

/// Finds bursts of refused requests per site against each site's own rolling baseline, one alert per burst.
///
/// Counts are kept per minute (the tally arrives every 10 s). A spike starts when the last `window` holds at
/// least `minimum` refusals and at least `factor` times the average per window over the `baseline` before it;
/// it ends when the window falls below half the threshold it crossed. After it ends, the site waits `cooldown`
/// before another spike alert, so an attack that pulses does not page anyone every five minutes. A site needs one
/// whole minute of history before the current window first, so a restart in steady traffic is not a spike.
struct SpikeDetector {
    enum Change: Equatable {
        case started(site: String, count: Int, baseline: Double, threshold: Int)
        case ended(site: String, peak: Int, total: Int, minutes: Int)
    }

    private struct SiteState {
        var minutes: [Int64: Int] = [:]
        var spike: (threshold: Int, startMinute: Int64, peak: Int, total: Int)?
        var endedMinute: Int64?
    }

    private var sites: [String: SiteState] = [:]
    /// When observation began (a site with no refusals since has had none: its baseline is zero).
    private var startMinute: Int64?

    /// Adds `count` refusals at `site` in the minute of `nowMillis`.
    mutating func record(site: String, count: Int, nowMillis: Int64) {
        let minute = nowMillis / 60_000
        if startMinute == nil { startMinute = minute }
        sites[site, default: SiteState()].minutes[minute, default: 0] += count
        if var spike = sites[site]?.spike {
            spike.total += count
            sites[site]?.spike = spike
        }
    }

    /// Checks every site, returning the spikes that start or end now.
    mutating func evaluate(nowMillis: Int64, policy: SpikePolicy) -> [Change] {
        guard policy.enabled else { return [] }
        let now = nowMillis / 60_000
        if startMinute == nil { startMinute = now }
        // The first minute observed is partial: the baseline counts whole minutes only.
        let firstWhole = (startMinute ?? now) + 1
        let window = max(1, Int64(policy.window.components.seconds / 60))
        let baseline = max(window, Int64(policy.baseline.components.seconds / 60))
        let cooldown = Int64(policy.cooldown.components.seconds / 60)
        var changes: [Change] = []
        for name in sites.keys.sorted() {
            guard var state = sites[name] else { continue }
            state.minutes = state.minutes.filter { $0.key > now - window - baseline }
            let current = state.minutes.reduce(0) { $1.key > now - window ? $0 + $1.value : $0 }
            let before = state.minutes.reduce(0) { $1.key <= now - window && $1.key >= firstWhole ? $0 + $1.value : $0 }
            let observed = min(baseline, max(0, now - window + 1 - firstWhole))
            let perWindow = observed > 0 ? Double(before) * Double(window) / Double(observed) : 0
            let threshold = max(policy.minimum, Int((policy.factor * perWindow).rounded(.up)))
            if var spike = state.spike {
                spike.peak = max(spike.peak, current)
                state.spike = spike
                if current * 2 < spike.threshold {
                    changes.append(.ended(site: name, peak: spike.peak, total: spike.total, minutes: Int(now - spike.startMinute + 1)))
                    state.spike = nil
                    state.endedMinute = now
                }
            } else if observed >= 1, current >= threshold, state.endedMinute.map({ now - $0 >= cooldown }) ?? true {
                state.spike = (threshold, now, current, current)
                changes.append(.started(site: name, count: current, baseline: perWindow, threshold: threshold))
            }
            if state.minutes.isEmpty && state.spike == nil && state.endedMinute.map({ now - $0 >= cooldown }) ?? true {
                sites[name] = nil
            } else {
                sites[name] = state
            }
        }
        return changes
    }
}
