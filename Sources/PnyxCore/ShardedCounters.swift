import Atomics

/// A few counters that every event loop adds to without contending: each loop writes its own shard (its own
/// 128-byte stretch, never sharing a cache line with another), with relaxed atomics; a reader sums and resets
/// them. Used for escalation's per-site traffic and for the per-site request tally.
public final class ShardedCounters: @unchecked Sendable {  // the words are only ever touched atomically
    public static let shards = 8
    static let stride = 16
    public let fields: Int
    private let words: UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>

    /// - Parameter fields: how many counters (at most 16).
    public init(fields: Int) {
        precondition(fields > 0 && fields <= Self.stride)
        self.fields = fields
        words = .allocate(capacity: Self.shards * Self.stride)
        words.initialize(repeating: UnsafeAtomic<Int>.Storage(0), count: Self.shards * Self.stride)
    }

    deinit {
        words.deinitialize(count: Self.shards * Self.stride)
        words.deallocate()
    }

    /// Adds to counter `field` in `shard` (any integer: it is reduced to a shard).
    @inline(__always)
    public func add(_ value: Int, to field: Int, shard: Int) {
        UnsafeAtomic<Int>(at: words + (shard & (Self.shards - 1)) * Self.stride + field).wrappingIncrement(by: value, ordering: .relaxed)
    }

    /// Counter `field`'s total since the last take, which starts again from zero.
    public func take(_ field: Int) -> Int {
        (0..<Self.shards).reduce(0) { sum, shard in
            sum + UnsafeAtomic<Int>(at: words + shard * Self.stride + field).exchange(0, ordering: .relaxed)
        }
    }
}
