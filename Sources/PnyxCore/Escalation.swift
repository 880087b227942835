/// A site's defensive posture. Raised automatically by escalation when the site looks under attack, lowered
/// again when the attack ends.
public enum Posture: UInt8, Sendable, Comparable, CustomStringConvertible {
    case normal = 0
    /// Tighter per-client limits on the paths that are not voter-critical.
    case elevated = 1
    /// Tighter still (and, once the challenge exists, a challenge on those paths).
    case underAttack = 2

    public static func < (a: Posture, b: Posture) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .normal: return "normal"
        case .elevated: return "elevated"
        case .underAttack: return "under_attack"
        }
    }

    /// What a rate-limit budget is multiplied by on non-critical paths.
    public var budgetScale: Double {
        switch self {
        case .normal: return 1
        case .elevated: return 0.5
        case .underAttack: return 0.25
        }
    }
}

/// When a site's posture is raised and lowered (`escalation:` on a site).
public struct EscalationPolicy: Sendable, Equatable {
    public var enabled = true
    /// A request rate this many times the site's own recent baseline is suspicious...
    public var rateFactor = 5.0
    /// ...but never below this many requests per second (quiet sites do not escalate on a handful of visitors).
    public var minRate = 50.0
    /// A share of requests refused by the protections at or above this is suspicious.
    public var blockedShare = 0.5
    /// A share of forwarded requests the origin failed (5xx, unreachable) at or above this is suspicious.
    public var originErrorShare = 0.25
    /// Origin response time (mean time to the response head) at or above this is suspicious.
    public var originLatency: Duration = .seconds(3)
    /// Suspicious for this long raises the posture one level...
    public var raiseAfter: Duration = .seconds(5)
    /// ...and calm for this long lowers it one level.
    public var relaxAfter: Duration = .seconds(120)
    public init() {}
}

/// What a site did during one sampling interval.
public struct SiteSample: Sendable, Equatable {
    public var seconds: Double
    public var requests: Int
    public var blocked: Int
    public var forwarded: Int
    public var originErrors: Int
    public var originMillis: Int
    public init(seconds: Double = 1, requests: Int = 0, blocked: Int = 0, forwarded: Int = 0, originErrors: Int = 0, originMillis: Int = 0) {
        self.seconds = seconds
        self.requests = requests
        self.blocked = blocked
        self.forwarded = forwarded
        self.originErrors = originErrors
        self.originMillis = originMillis
    }
}

/// Decides a site's posture from its samples: a pure state machine (tests drive it with made-up samples and a
/// fake clock). The baseline is an exponentially weighted mean of the request rate, learned only while the
/// posture is normal and the site is calm, so an attack never teaches it that floods are normal.
public struct EscalationDetector: Sendable {
    public private(set) var posture: Posture = .normal
    public private(set) var baseline: Double
    /// How long the signals have been suspicious (or calm) without a break, in seconds.
    private var suspiciousFor = 0.0
    private var calmFor = 0.0
    /// Seconds of traffic seen so far. For the first minute the baseline is the plain mean of what was seen and
    /// the request rate is not yet a reason (a site must not escalate on its own ordinary traffic at start-up).
    private var learned = 0.0
    private var learnedRequests = 0.0
    public static let warmUp = 60.0
    public let policy: EscalationPolicy

    /// - Parameter baseline: a baseline already learned (e.g. before the site's policy changed); skips warm-up.
    public init(policy: EscalationPolicy, baseline: Double? = nil) {
        self.policy = policy
        self.baseline = baseline ?? policy.minRate
        if baseline != nil { learned = Self.warmUp }
    }

    public var isWarmingUp: Bool { learned < Self.warmUp }

    public struct Change: Sendable, Equatable {
        public var from: Posture
        public var to: Posture
        public var reasons: [String]
    }

    /// Feeds one sample; returns the posture change it causes, if any.
    public mutating func observe(_ sample: SiteSample) -> Change? {
        guard policy.enabled, sample.seconds > 0 else { return nil }
        let reasons = suspicions(sample)
        if reasons.isEmpty {
            calmFor += sample.seconds
            suspiciousFor = 0
            if posture == .normal {
                // Learn the baseline from calm traffic only: the mean during warm-up, then a moving average with
                // a half-life of about ten minutes.
                let rate = Double(sample.requests) / sample.seconds
                if isWarmingUp {
                    learned += sample.seconds
                    learnedRequests += Double(sample.requests)
                    baseline = max(policy.minRate, learnedRequests / learned)
                } else {
                    let weight = 1 - pow2(-sample.seconds / 600)
                    baseline = max(policy.minRate, baseline + (rate - baseline) * weight)
                }
            } else if calmFor >= seconds(policy.relaxAfter) {
                calmFor = 0
                let from = posture
                posture = Posture(rawValue: posture.rawValue - 1)!
                return Change(from: from, to: posture, reasons: ["calm for \(Int(seconds(policy.relaxAfter)))s"])
            }
            return nil
        }
        suspiciousFor += sample.seconds
        calmFor = 0
        guard posture < .underAttack, suspiciousFor >= seconds(policy.raiseAfter) else { return nil }
        suspiciousFor = 0
        let from = posture
        posture = Posture(rawValue: posture.rawValue + 1)!
        return Change(from: from, to: posture, reasons: reasons)
    }

    /// Why a sample looks like an attack (empty: it does not). While raised, the rate must fall to half the
    /// raising threshold before it counts as calm (hysteresis).
    func suspicions(_ sample: SiteSample) -> [String] {
        let rate = Double(sample.requests) / sample.seconds
        guard rate >= policy.minRate else { return [] }
        var reasons: [String] = []
        let threshold = baseline * policy.rateFactor * (posture == .normal ? 1 : 0.5)
        if rate >= threshold && !isWarmingUp {
            reasons.append("request rate \(Int(rate))/s is \(format(rate / baseline))× the baseline of \(Int(baseline))/s")
        }
        if sample.requests > 0 {
            let share = Double(sample.blocked) / Double(sample.requests)
            if share >= policy.blockedShare { reasons.append("\(Int(share * 100))% of requests refused") }
        }
        if sample.forwarded > 0 {
            let errors = Double(sample.originErrors) / Double(sample.forwarded)
            if errors >= policy.originErrorShare { reasons.append("origin failing \(Int(errors * 100))% of requests") }
            let latency = Double(sample.originMillis) / Double(sample.forwarded)
            if latency >= seconds(policy.originLatency) * 1000 { reasons.append("origin answering in \(Int(latency)) ms") }
        }
        return reasons
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func format(_ x: Double) -> String { x >= 10 ? "\(Int(x))" : "\(Double(Int(x * 10)) / 10)" }

    private func pow2(_ x: Double) -> Double {
        // 2^x without Foundation: exp(x ln 2) by a short series is enough for weights in (0, 1].
        var result = 1.0, term = 1.0
        let y = x * 0.693_147_180_559_945_3
        for n in 1..<20 {
            term *= y / Double(n)
            result += term
        }
        return result
    }
}
