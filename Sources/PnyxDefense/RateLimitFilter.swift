import Metrics
import NIOCore
import NIOHTTP1
import PnyxCore

/// A site's rate-limit rules (`rate_limits:`), counted in the node-wide ``RateCounterTable``.
///
/// For each rule whose path prefix and methods match, the request is counted under the rule's key (client
/// address, address and path, a header, a cookie, or the whole site). Over budget, `block` answers 429 with
/// `Retry-After` (JSON for API clients) and keeps the key blocked for the rule's `timeout`; `log` records an event
/// and lets the request through. Allow-listed clients are never counted. A whole-site rule (`key: site`) refuses,
/// once the site is over budget, only the clients that used more than 1/100 of the budget themselves in the
/// period (and holds back each of those), so a flood from heavy clients never locks out light ones. A rule with `count: origin` counts only
/// requests that are forwarded to the origin (in the upstream phase), and compares at the head.
public final class RateLimitFilter: Filter {
    public let name: FilterName = "rate_limit"
    public var phases: PhaseSet { [.requestHead, .upstream] }

    /// A class, so that walking a site's rules copies one reference per rule, not every field.
    final class CompiledRule: Sendable {
        let rule: RateLimitRule
        /// `pnyx_rate_limit_requests_total{site,rule,action}`: requests over this rule's budget (blocked or logged).
        let blocked: Counter
        let logged: Counter
        /// Mixed into every key, so rules (and sites) never share counters.
        let seed: UInt64
        let periodMillis: UInt64
        let timeoutSeconds: UInt64
        let methods: [HTTPMethod]
        /// The rule's path prefix is `/`: every path matches (no string comparison per request).
        let anyPath: Bool

        init(
            rule: RateLimitRule, blocked: Counter, logged: Counter, seed: UInt64, periodMillis: UInt64,
            timeoutSeconds: UInt64, methods: [HTTPMethod]
        ) {
            self.rule = rule
            self.blocked = blocked
            self.logged = logged
            self.seed = seed
            self.periodMillis = periodMillis
            self.timeoutSeconds = timeoutSeconds
            self.methods = methods
            self.anyPath = rule.pathPrefix == "/"
        }
    }

    private let sites: SiteTable<[CompiledRule]>
    private let counters: RateCounterTable
    private let penalties: PenaltyTable
    /// Each escalating site's posture: raised, it scales budgets down on paths that are not voter-critical.
    private let postures: SiteTable<SiteTraffic>

    public init(sites: [Site], counters: RateCounterTable, penalties: PenaltyTable, traffic: SiteTrafficRegistry? = nil) {
        self.postures = SiteTable(sites) { site in
            site.configuration.escalation.enabled ? traffic?.traffic(for: site.name) : nil
        }
        self.sites = SiteTable(sites) { site in
            let rules = site.configuration.rateLimits.enumerated().map { index, rule in
                CompiledRule(
                    rule: rule,
                    blocked: Counter(
                        label: "pnyx_rate_limit_requests_total",
                        dimensions: [("site", site.name.rawValue), ("rule", rule.name), ("action", "block")]),
                    logged: Counter(
                        label: "pnyx_rate_limit_requests_total",
                        dimensions: [("site", site.name.rawValue), ("rule", rule.name), ("action", "log")]),
                    seed: Self.hash(string: "\(site.name.rawValue)\u{0}\(index)\u{0}\(rule.name)", seed: 0x5851_F42D_4C95_7F2D),
                    periodMillis: UInt64(max(1, (rule.period / .milliseconds(1)).rounded())),
                    timeoutSeconds: UInt64(max(0, rule.timeout.components.seconds)), methods: rule.methods)
            }
            return rules.isEmpty ? nil : rules
        }
        self.counters = counters
        self.penalties = penalties
    }

    public var isEmpty: Bool { sites.isEmpty }

    public func requestHead(_ context: RequestContext) -> Verdict {
        guard !context.allowListed, let rules = sites[context.site] else { return .continue }
        let nowMillis = context.start.uptimeNanoseconds / 1_000_000
        var scale = 1.0
        if let posture = postures[context.site]?.posture, posture != .normal,
            !context.site.configuration.isCritical(context.path)
        {
            scale = posture.budgetScale
        }
        for compiled in rules where matches(compiled, context) {
            guard let key = key(for: compiled, context) else { continue }
            let verdict = check(compiled, key: key, nowMillis: nowMillis, context: context, scale: scale)
            if case .continue = verdict { continue }
            return verdict
        }
        return .continue
    }

    /// The request is about to be sent to the origin: rules that count only origin requests count it now.
    public func upstream(_ context: RequestContext, head: inout UpstreamRequestHead) {
        guard !context.allowListed, let rules = sites[context.site] else { return }
        let nowMillis = context.start.uptimeNanoseconds / 1_000_000
        for compiled in rules where compiled.rule.countOriginOnly && matches(compiled, context) {
            guard let key = key(for: compiled, context) else { continue }
            _ = counters.hit(key: key, now: nowMillis, period: compiled.periodMillis)
            if let share = shareKey(compiled, context) { _ = counters.hit(key: share, now: nowMillis, period: compiled.periodMillis) }
        }
    }

    /// For a whole-site rule, the key of this client's own share of the site's budget (nil for other keys, or a
    /// client without an address).
    @inline(__always)
    func shareKey(_ compiled: CompiledRule, _ context: RequestContext) -> UInt64? {
        guard case .site = compiled.rule.key, let address = context.client.address else { return nil }
        return Self.mix(compiled.seed ^ 0x5EA1_C11E ^ address.hash64)
    }

    /// A client that used no more than this much of a whole-site budget in the period is never refused by it.
    static func share(of requests: Int) -> Int { max(1, requests / 100) }

    @inline(__always)
    func matches(_ compiled: CompiledRule, _ context: RequestContext) -> Bool {
        if !compiled.methods.isEmpty && !compiled.methods.contains(context.head.method) { return false }
        return compiled.anyPath || context.path.hasPrefix(compiled.rule.pathPrefix)
    }

    func check(_ compiled: CompiledRule, key: UInt64, nowMillis: UInt64, context: RequestContext, scale: Double = 1) -> Verdict {
        let rule = compiled.rule
        // The budget, scaled down while the site's posture is raised.
        let requests = scale < 1 ? max(1, Int(Double(rule.requests) * scale)) : rule.requests
        let nowSeconds = nowMillis / 1000
        // A whole-site rule holds back the clients that use more than their share, not the whole site.
        let shareKey = shareKey(compiled, context)
        let penaltyKey = shareKey ?? key
        if rule.action == .block, let left = penalties.remaining(key: penaltyKey, nowSeconds: nowSeconds) {
            compiled.blocked.increment()
            return .block(block(rule, requests: requests, retryAfter: Int(left), context: context, record: false))
        }
        let count: Int
        var clientCount = 0
        if rule.countOriginOnly {
            // Counted when forwarded (upstream phase); here only compared: the next one would be over budget.
            count = counters.peek(key: key, now: nowMillis, period: compiled.periodMillis) + 1
            if let shareKey { clientCount = counters.peek(key: shareKey, now: nowMillis, period: compiled.periodMillis) + 1 }
        } else {
            guard let counted = counters.hit(key: key, now: nowMillis, period: compiled.periodMillis) else { return .continue }
            count = counted
            if let shareKey { clientCount = counters.hit(key: shareKey, now: nowMillis, period: compiled.periodMillis) ?? 0 }
        }
        guard count > requests else { return .continue }
        if case .site = rule.key, clientCount <= Self.share(of: requests) {
            // A light client (a voter loading a page) is never locked out by a flood from heavy ones.
            return .continue
        }
        let first = count == requests + 1
        switch rule.action {
        case .log:
            compiled.logged.increment()
            if first {
                context.emit(
                    filter: name, rule: rule.name, action: .log,
                    evidence: "over \(requests) requests per \(rule.period) (\(describe(rule.key)))")
            }
            return .continue
        case .challenge:
            // The challenge filter (later in the chain) shows browsers without clearance the challenge.
            compiled.logged.increment()
            if first {
                context.emit(
                    filter: name, rule: rule.name, action: .challenge,
                    evidence: "over \(requests) requests per \(rule.period) (\(describe(rule.key)))")
            }
            context.challengeRequestedBy = context.challengeRequestedBy ?? rule.name
            return .continue
        case .block:
            // Wait until the sliding window has room again, or the rule's timeout if longer.
            let windowLeft = (compiled.periodMillis - nowMillis % compiled.periodMillis + 999) / 1000
            let wait = max(compiled.timeoutSeconds, windowLeft, 1)
            // An origin-only rule is not counted while it blocks, so it always holds the key in the penalty box
            // for the wait (otherwise every blocked request would look like the first).
            compiled.blocked.increment()
            let penalize = compiled.timeoutSeconds > 0 || rule.countOriginOnly || shareKey != nil
            if penalize {
                penalties.penalize(key: penaltyKey, untilSeconds: nowSeconds + wait, nowSeconds: nowSeconds)
            }
            return .block(block(rule, requests: requests, retryAfter: Int(wait), context: context, record: first || penalize))
        }
    }

    func block(_ rule: RateLimitRule, requests: Int, retryAfter: Int, context: RequestContext, record: Bool) -> Block {
        Block(
            status: .tooManyRequests, filter: name, rule: rule.name,
            message: "Too many requests from your connection. Please wait \(retryAfter) seconds and try again.",
            evidence: "over \(requests) requests per \(rule.period) (\(describe(rule.key)))",
            retryAfterSeconds: retryAfter, record: record)
    }

    func describe(_ key: RateLimitRule.Key) -> String {
        switch key {
        case .ip: return "per address"
        case .ipAndPath: return "per address and path"
        case .header(let name): return "per header \(name)"
        case .cookie(let name): return "per cookie \(name)"
        case .site: return "whole site"
        }
    }

    /// The counter key for this request under this rule, or nil when the request has no value for it.
    func key(for compiled: CompiledRule, _ context: RequestContext) -> UInt64? {
        switch compiled.rule.key {
        case .site:
            return Self.mix(compiled.seed)
        case .ip:
            guard let address = context.client.address else { return nil }
            return Self.mix(compiled.seed ^ address.hash64)
        case .ipAndPath:
            guard let address = context.client.address else { return nil }
            let base = compiled.seed ^ address.hash64
            return Self.hash(string: String(context.path), seed: base)
        case .header(let name):
            guard let value = context.head.headers.first(name: name), !value.isEmpty else { return nil }
            return Self.hash(string: value, seed: compiled.seed)
        case .cookie(let name):
            guard let value = Self.cookie(name, in: context.head.headers) else { return nil }
            return Self.hash(string: value, seed: compiled.seed)
        }
    }

    static func cookie(_ name: String, in headers: HTTPHeaders) -> String? {
        for header in headers["cookie"] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let eq = trimmed.firstIndex(of: "="), trimmed[..<eq] == name else { continue }
                let value = trimmed[trimmed.index(after: eq)...]
                return value.isEmpty ? nil : String(value)
            }
        }
        return nil
    }

    /// splitmix64's finalizer: a fast, well-spread 64-bit mix.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a over the string's bytes, then mixed with `seed`.
    static func hash(string: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in string.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return mix(h ^ seed)
    }
}
