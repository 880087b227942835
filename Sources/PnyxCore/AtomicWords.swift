import Atomics

/// A fixed array of atomic 64-bit words, a power of two long; an index wraps around. Each word is updated with
/// compare-and-exchange, so any thread may use the table without a lock.
public final class AtomicWords: @unchecked Sendable {  // the words are only ever touched atomically
    private let storage: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let mask: Int

    public init(count: Int) {
        var size = 1024
        while size < count { size <<= 1 }
        storage = .allocate(capacity: size)
        storage.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: size)
        mask = size - 1
    }

    deinit {
        storage.deinitialize(count: mask + 1)
        storage.deallocate()
    }

    public var count: Int { mask + 1 }

    @inline(__always)
    public subscript(index: Int) -> UnsafeAtomic<UInt64> { UnsafeAtomic(at: storage + (index & mask)) }
}
