import Atomics
import PnyxCore
import Synchronization

/// Whether one origin of one site is up, as its active health check last found it. Kept across reloads.
public final class OriginHealthState: Sendable {
    public let site: String
    public let origin: OriginAddress
    private let up = ManagedAtomic<Bool>(true)
    /// Consecutive failures and successes (written only by the health checker).
    let failures = ManagedAtomic<Int>(0)
    let successes = ManagedAtomic<Int>(0)

    init(site: String, origin: OriginAddress) {
        self.site = site
        self.origin = origin
    }

    @inline(__always)
    public var isUp: Bool { up.load(ordering: .relaxed) }

    /// Records one check; returns the new state if it changed.
    public func record(success: Bool, policy: HealthCheckPolicy) -> Bool? {
        if success {
            failures.store(0, ordering: .relaxed)
            let n = successes.wrappingIncrementThenLoad(ordering: .relaxed)
            if !isUp && n >= policy.passes {
                up.store(true, ordering: .relaxed)
                return true
            }
        } else {
            successes.store(0, ordering: .relaxed)
            let n = failures.wrappingIncrementThenLoad(ordering: .relaxed)
            if isUp && n >= policy.fails {
                up.store(false, ordering: .relaxed)
                return false
            }
        }
        return nil
    }

    /// Back to up (the health check was removed from the configuration).
    func reset() {
        up.store(true, ordering: .relaxed)
        failures.store(0, ordering: .relaxed)
        successes.store(0, ordering: .relaxed)
    }
}

/// Every origin's health state by site and origin, shared by snapshots and the health checker.
public final class OriginHealthRegistry: Sendable {
    private let states = Mutex<[String: OriginHealthState]>([:])

    public init() {}

    public func state(site: String, origin: OriginAddress) -> OriginHealthState {
        states.withLock { states in
            let key = "\(site) \(origin)"
            if let state = states[key] { return state }
            let state = OriginHealthState(site: site, origin: origin)
            states[key] = state
            return state
        }
    }

    public var all: [OriginHealthState] { states.withLock { Array($0.values) } }
}
