import Atomics
import PnyxCore
import Synchronization

/// One banned client address.
public struct Ban: Sendable, Equatable {
    public var address: IPAddress
    /// Monotonic seconds (the data path's clock) at which the ban ends.
    public var untilSeconds: UInt64
    /// Wall-clock milliseconds since the Unix epoch: when it was made, and when it ends (for people).
    public var sinceWallMillis: Int64
    public var untilWallMillis: Int64
    public var site: String
    public var reason: String

    public init(
        address: IPAddress, untilSeconds: UInt64, sinceWallMillis: Int64, untilWallMillis: Int64, site: String,
        reason: String
    ) {
        self.address = address
        self.untilSeconds = untilSeconds
        self.sinceWallMillis = sinceWallMillis
        self.untilWallMillis = untilWallMillis
        self.site = site
        self.reason = reason
    }
}

/// The node's bans: exact client addresses, each with an end time. Shared by every event loop and kept across
/// reloads (not across restarts).
///
/// Reads are the hot path and take no lock: with no ban in force they cost one relaxed atomic load; otherwise
/// they look the address up in an immutable dictionary published through an atomic reference. Bans are made,
/// listed, cleared and expired rarely, under a mutex, and each change publishes a new dictionary.
public final class BanRegistry: Sendable {
    final class Published: AtomicReference, Sendable {
        let bans: [IPAddress: Ban]
        init(_ bans: [IPAddress: Ban]) { self.bans = bans }
    }

    private let state = Mutex<[IPAddress: Ban]>([:])
    private let published = ManagedAtomic<Published>(Published([:]))
    private let count = ManagedAtomic<Int>(0)
    /// Bans made since start, for metrics.
    public let made = ManagedAtomic<Int>(0)
    /// At most this many bans at once; beyond it new bans are not made (and counted), old ones still expire.
    public let capacity: Int
    public let refused = ManagedAtomic<Int>(0)

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Bans in force now (some may have just expired and not been swept yet).
    public var activeCount: Int { count.load(ordering: .relaxed) }

    /// The ban on `address`, if one is in force.
    @inline(__always)
    public func ban(on address: IPAddress, nowSeconds: UInt64) -> Ban? {
        guard count.load(ordering: .relaxed) > 0 else { return nil }
        guard let ban = published.load(ordering: .acquiring).bans[address], ban.untilSeconds > nowSeconds else { return nil }
        return ban
    }

    /// Bans `ban.address` unless it is already banned. Returns true when a new ban was made.
    @discardableResult
    public func add(_ ban: Ban, nowSeconds: UInt64) -> Bool {
        let made = state.withLock { bans -> Bool in
            if let existing = bans[ban.address], existing.untilSeconds > nowSeconds { return false }
            if bans.count >= capacity {
                refused.wrappingIncrement(ordering: .relaxed)
                return false
            }
            bans[ban.address] = ban
            publish(bans)
            return true
        }
        if made { self.made.wrappingIncrement(ordering: .relaxed) }
        return made
    }

    /// Bans in force, soonest to end first.
    public func list(nowSeconds: UInt64) -> [Ban] {
        state.withLock { bans in bans.values.filter { $0.untilSeconds > nowSeconds } }
            .sorted { $0.untilSeconds < $1.untilSeconds }
    }

    /// Lifts the ban on `address` (or every ban, if nil). Returns the bans lifted.
    @discardableResult
    public func clear(_ address: IPAddress?, nowSeconds: UInt64) -> [Ban] {
        state.withLock { bans in
            let lifted: [Ban]
            if let address {
                guard let ban = bans.removeValue(forKey: address) else { return [] }
                lifted = [ban]
            } else {
                lifted = Array(bans.values)
                bans.removeAll()
            }
            publish(bans)
            return lifted.filter { $0.untilSeconds > nowSeconds }
        }
    }

    /// Removes expired bans and returns them (the sweeper records each as an event).
    public func sweep(nowSeconds: UInt64) -> [Ban] {
        state.withLock { bans in
            let expired = bans.values.filter { $0.untilSeconds <= nowSeconds }
            guard !expired.isEmpty else { return [] }
            for ban in expired { bans.removeValue(forKey: ban.address) }
            publish(bans)
            return expired
        }
    }

    private func publish(_ bans: [IPAddress: Ban]) {
        published.store(Published(bans), ordering: .releasing)
        count.store(bans.count, ordering: .relaxed)
    }
}
