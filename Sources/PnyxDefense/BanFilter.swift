import PnyxCore

/// Bans on bad behaviour (`bans:`), node-wide.
///
/// - requestHead: a banned client gets 403 with `Retry-After` (JSON for API clients) until its ban ends. Not a
///   new event per request: the ban itself was one.
/// - complete: a request that a protection blocked, or whose response status is one the policy lists, is a strike
///   against the client address (counted in a bounded, lock-free sliding window). At `after` strikes within
///   `within`, the address is banned for `duration` and a `ban` event says why.
///
/// Allow-listed clients are neither refused nor counted (allow wins over everything).
public final class BanFilter: Filter {
    public let name: FilterName = "ban"
    public var phases: PhaseSet { [.requestHead, .complete] }

    private let policy: BanPolicy
    private let registry: BanRegistry
    private let strikes: RateCounterTable
    private let windowMillis: UInt64
    private let durationSeconds: UInt64
    /// A status bitmap (100–599) for the statuses that count as strikes.
    private let strikeStatuses: [Bool]

    public init(policy: BanPolicy, registry: BanRegistry, strikes: RateCounterTable) {
        self.policy = policy
        self.registry = registry
        self.strikes = strikes
        self.windowMillis = UInt64(max(1, (policy.within / .milliseconds(1)).rounded()))
        self.durationSeconds = UInt64(max(1, policy.duration.components.seconds))
        var statuses = [Bool](repeating: false, count: 600)
        for status in policy.statuses where status >= 100 && status < 600 { statuses[status] = true }
        self.strikeStatuses = statuses
    }

    public func requestHead(_ context: RequestContext) -> Verdict {
        guard !context.allowListed, let address = context.client.address else { return .continue }
        let nowSeconds = context.start.uptimeNanoseconds / 1_000_000_000
        guard let ban = registry.ban(on: address, nowSeconds: nowSeconds) else { return .continue }
        let left = Int(ban.untilSeconds - nowSeconds)
        return .block(
            Block(
                status: .forbidden, filter: name, rule: "banned",
                message:
                    "Your address has been blocked for \(Self.minutes(left)) after repeated requests that were refused. If you believe this is a mistake, contact the election office.",
                evidence: ban.reason, retryAfterSeconds: left, record: false))
    }

    public func complete(_ context: RequestContext) {
        guard policy.enabled, !context.allowListed, let address = context.client.address else { return }
        let strike: Bool
        if context.outcome == .blocked {
            strike = context.decidedBy != name
        } else {
            let status = context.status
            strike = status >= 100 && status < 600 && strikeStatuses[status]
        }
        guard strike else { return }
        let nowMillis = UInt64((context.end ?? context.start).uptimeNanoseconds / 1_000_000)
        let key = RateLimitFilter.mix(0xBA17_5EED ^ address.hash64)
        guard let count = strikes.hit(key: key, now: nowMillis, period: windowMillis), count >= policy.after else { return }
        let nowSeconds = nowMillis / 1000
        let reason =
            "\(count) refused requests within \(Self.describe(policy.within)) (last: \(context.decidedBy?.rawValue ?? "status \(context.status)"))"
        let wall = context.startWallMillis
        let ban = Ban(
            address: address, untilSeconds: nowSeconds + durationSeconds, sinceWallMillis: wall,
            untilWallMillis: wall + Int64(durationSeconds) * 1000, site: context.site.name.rawValue, reason: reason)
        if registry.add(ban, nowSeconds: nowSeconds) {
            context.emit(
                filter: name, rule: "ban", action: .ban, evidence: "\(reason); banned for \(Self.describe(policy.duration))")
        }
    }

    static func minutes(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds) seconds" : "\((seconds + 59) / 60) minutes"
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 3600 == 0 && seconds >= 3600 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds >= 60 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
