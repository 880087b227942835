import Atomics

/// Counts open client connections, overall and per client address, and refuses new ones beyond the limits.
/// Shared by every event loop and kept across reloads; lock-free and bounded.
///
/// Per address, a slot packs a 40-bit fingerprint of the address and a 24-bit count (two candidate slots per
/// address). An address that finds no slot (the table is full of other addresses) is let in: it fails open,
/// like the rate counters. A trusted proxy is only counted overall (the clients behind it are many).
public final class ConnectionGate: Sendable {
    private let words: AtomicWords
    private let total = ManagedAtomic<Int>(0)
    /// Connections refused, by reason, for metrics and tests.
    public let refusedTotal = ManagedAtomic<Int>(0)
    public let refusedPerAddress = ManagedAtomic<Int>(0)

    public init(slots: Int = 1 << 16) {
        words = AtomicWords(count: slots)
    }

    public var open: Int { total.load(ordering: .relaxed) }

    /// Admits a connection, or returns false (and counts nothing) when a limit is reached.
    /// - Parameter address: nil for a connection that is only counted overall (trusted proxy, no IP).
    public func admit(_ address: IPAddress?, maxTotal: Int, maxPerAddress: Int) -> Bool {
        if total.loadThenWrappingIncrement(ordering: .relaxed) >= maxTotal {
            total.wrappingDecrement(ordering: .relaxed)
            refusedTotal.wrappingIncrement(ordering: .relaxed)
            return false
        }
        guard let address else { return true }
        let key = Self.key(address)
        let fingerprint = (key >> 24) | 1
        for probe in 0..<2 {
            let word = words[Self.index(key, probe)]
            var current = word.load(ordering: .relaxed)
            while true {
                let owner = current >> 24, count = current & 0xFF_FFFF
                guard owner == fingerprint || count == 0 else { break }
                let existing = owner == fingerprint ? count : 0
                if existing >= UInt64(maxPerAddress) {
                    total.wrappingDecrement(ordering: .relaxed)
                    refusedPerAddress.wrappingIncrement(ordering: .relaxed)
                    return false
                }
                let (exchanged, original) = word.weakCompareExchange(
                    expected: current, desired: fingerprint << 24 | (existing + 1), ordering: .relaxed)
                if exchanged { return true }
                current = original
            }
        }
        return true  // no slot: counted overall only
    }

    /// A connection admitted with `admit` closed.
    public func release(_ address: IPAddress?) {
        total.wrappingDecrement(ordering: .relaxed)
        guard let address else { return }
        let key = Self.key(address)
        let fingerprint = (key >> 24) | 1
        for probe in 0..<2 {
            let word = words[Self.index(key, probe)]
            var current = word.load(ordering: .relaxed)
            while current >> 24 == fingerprint, current & 0xFF_FFFF > 0 {
                let count = (current & 0xFF_FFFF) - 1
                let desired = count == 0 ? 0 : fingerprint << 24 | count
                let (exchanged, original) = word.weakCompareExchange(expected: current, desired: desired, ordering: .relaxed)
                if exchanged { return }
                current = original
            }
        }
    }

    /// Connections currently open from `address` (as far as the table tracks it).
    public func openConnections(from address: IPAddress) -> Int {
        let key = Self.key(address)
        let fingerprint = (key >> 24) | 1
        for probe in 0..<2 {
            let current = words[Self.index(key, probe)].load(ordering: .relaxed)
            if current >> 24 == fingerprint { return Int(current & 0xFF_FFFF) }
        }
        return 0
    }

    @inline(__always)
    static func key(_ address: IPAddress) -> UInt64 { address.hash64 }

    @inline(__always)
    static func index(_ key: UInt64, _ probe: Int) -> Int {
        Int(truncatingIfNeeded: probe == 0 ? key : (key &* 0xC4CE_B9FE_1A85_EC53) >> 7)
    }
}
