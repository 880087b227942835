import Atomics
import PnyxCore

/// Request counters for rate limits: a fixed-size, lock-free table shared by every event loop.
///
/// Memory is bounded whatever the number of distinct keys (a flood from millions of addresses cannot grow it):
/// `slots` 64-bit words, 8 bytes each. A key (already hashed, with its site and rule mixed in) owns a slot while it
/// is active; each slot packs the key's 16-bit fingerprint, the window it counts in, and the counts of the previous
/// and current window (16 bits each). The rate is the sliding-window estimate
/// `previous × (1 − elapsed fraction of the current window) + current`, as nginx and Cloudflare do.
///
/// A key whose two candidate slots are both held by other active keys is not counted (the table is full under a
/// flood of distinct addresses): it fails open, because a voter wrongly limited is a failure too. Such misses are
/// counted in `untracked`; the whole-site limits and escalation handle distributed floods.
public final class RateCounterTable: Sendable {
    private let words: AtomicWords
    /// Keys that found no slot (fail-open), for metrics.
    public let untracked = ManagedAtomic<Int>(0)

    /// - Parameter slots: rounded up to a power of two; 1 << 20 slots take 8 MiB.
    public init(slots: Int = 1 << 20) {
        words = AtomicWords(count: slots)
    }

    public var slotCount: Int { words.count }

    /// Counts one request for `key` in windows of `period` and returns the estimated number of requests in the
    /// last period, this one included; `nil` when the key found no slot.
    ///
    /// - Parameters:
    ///   - now: a monotonic clock in milliseconds (tests pass a fake one).
    ///   - period: the window length in milliseconds.
    public func hit(key: UInt64, now: UInt64, period: UInt64) -> Int? {
        let window = now / period
        let fraction = Double(now % period) / Double(period)
        let fingerprint = UInt64(truncatingIfNeeded: (key >> 48) | 1)  // never 0: 0 marks an empty slot
        for probe in 0..<2 {
            let atomic = words[Int(truncatingIfNeeded: probe == 0 ? key : (key >> 24) &* 0x9E37_79B9_7F4A_7C15)]
            var current = atomic.load(ordering: .relaxed)
            while true {
                let slot = Slot(current)
                let owned = slot.fingerprint == fingerprint
                // A slot whose key has not counted in the last two windows is free to take.
                let stale = slot.fingerprint == 0 || ((window &- UInt64(slot.window)) & 0xFFFF) >= 2
                guard owned || stale else { break }
                var next = Slot(fingerprint: fingerprint, window: UInt16(truncatingIfNeeded: window), previous: 0, current: 1)
                if owned && !stale {
                    let age = (window &- UInt64(slot.window)) & 0xFFFF
                    if age == 0 {
                        next.previous = slot.previous
                        next.current = slot.current == .max ? .max : slot.current + 1
                    } else {  // age == 1: the current window became the previous one
                        next.previous = slot.current
                    }
                }
                let (exchanged, original) = atomic.weakCompareExchange(
                    expected: current, desired: next.raw, successOrdering: .relaxed, failureOrdering: .relaxed)
                if exchanged {
                    return Int((Double(next.previous) * (1 - fraction)).rounded(.up)) + Int(next.current)
                }
                current = original
            }
        }
        untracked.wrappingIncrement(ordering: .relaxed)
        return nil
    }

    /// The estimated number of requests for `key` in the last period, without counting one; 0 for an unknown key.
    public func peek(key: UInt64, now: UInt64, period: UInt64) -> Int {
        let window = now / period
        let fraction = Double(now % period) / Double(period)
        let fingerprint = UInt64(truncatingIfNeeded: (key >> 48) | 1)
        for probe in 0..<2 {
            let slot = Slot(words[Int(truncatingIfNeeded: probe == 0 ? key : (key >> 24) &* 0x9E37_79B9_7F4A_7C15)].load(ordering: .relaxed))
            guard slot.fingerprint == fingerprint else { continue }
            switch (window &- UInt64(slot.window)) & 0xFFFF {
            case 0: return Int((Double(slot.previous) * (1 - fraction)).rounded(.up)) + Int(slot.current)
            case 1: return Int((Double(slot.current) * (1 - fraction)).rounded(.up))
            default: return 0
            }
        }
        return 0
    }

    struct Slot {
        var fingerprint: UInt64
        var window: UInt16
        var previous: UInt16
        var current: UInt16

        init(_ raw: UInt64) {
            fingerprint = raw >> 48
            window = UInt16(truncatingIfNeeded: raw >> 32)
            previous = UInt16(truncatingIfNeeded: raw >> 16)
            current = UInt16(truncatingIfNeeded: raw)
        }

        init(fingerprint: UInt64, window: UInt16, previous: UInt16, current: UInt16) {
            self.fingerprint = fingerprint
            self.window = window
            self.previous = previous
            self.current = current
        }

        var raw: UInt64 {
            fingerprint << 48 | UInt64(window) << 32 | UInt64(previous) << 16 | UInt64(current)
        }
    }
}

/// Keys being mitigated and until when: a rule's `timeout` keeps a key blocked after it went over its budget.
/// Same shape as ``RateCounterTable``: bounded, lock-free, two candidate slots per key, fail-open when full.
public final class PenaltyTable: Sendable {
    private let words: AtomicWords

    public init(slots: Int = 1 << 16) {
        words = AtomicWords(count: slots)
    }

    /// Each slot: fingerprint (16 bits) | blocked-until in seconds of the monotonic clock (48 bits).
    /// Returns the seconds left in the key's penalty, or nil when it has none.
    public func remaining(key: UInt64, nowSeconds: UInt64) -> UInt64? {
        let fingerprint = (key >> 48) | 1
        for probe in 0..<2 {
            let raw = words[index(key, probe)].load(ordering: .relaxed)
            if raw >> 48 == fingerprint {
                let until = raw & 0xFFFF_FFFF_FFFF
                return until > nowSeconds ? until - nowSeconds : nil
            }
        }
        return nil
    }

    /// Puts `key` in the box until `untilSeconds` (a free or expired slot, else nothing: fail-open).
    public func penalize(key: UInt64, untilSeconds: UInt64, nowSeconds: UInt64) {
        let fingerprint = (key >> 48) | 1
        let desired = fingerprint << 48 | (untilSeconds & 0xFFFF_FFFF_FFFF)
        for probe in 0..<2 {
            let atomic = words[index(key, probe)]
            let raw = atomic.load(ordering: .relaxed)
            let free = raw == 0 || raw >> 48 == fingerprint || raw & 0xFFFF_FFFF_FFFF <= nowSeconds
            if free && atomic.compareExchange(expected: raw, desired: desired, ordering: .relaxed).exchanged { return }
        }
    }

    @inline(__always)
    private func index(_ key: UInt64, _ probe: Int) -> Int {
        Int(truncatingIfNeeded: probe == 0 ? key &* 0xFF51_AFD7_ED55_8CCD : (key >> 20) &* 0xC4CE_B9FE_1A85_EC53)
    }
}
