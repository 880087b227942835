/// A least-recently-used map bounded in bytes: the cache's memory tier. Each entry says what it costs; inserting
/// beyond the bound evicts the least recently used entries first, and an entry larger than the bound is refused.
/// O(1) lookups, inserts and evictions (a dictionary of slots in a doubly-linked list kept in arrays).
///
/// Not thread-safe by itself: its owner decides (one per event loop, or shards behind their own locks).
public struct ByteBoundedLRU<Key: Hashable, Value> {
    struct Slot {
        var key: Key
        var value: Value
        var cost: Int
        var newer: Int
        var older: Int
    }

    public let capacity: Int
    public private(set) var bytes = 0
    private var slots: [Slot?] = []
    private var free: [Int] = []
    private var index: [Key: Int] = [:]
    /// Most and least recently used slot (-1: none).
    private var newest = -1
    private var oldest = -1
    public private(set) var evictions = 0

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public var count: Int { index.count }

    /// The value for `key`, marked as just used.
    public mutating func get(_ key: Key) -> Value? {
        guard let i = index[key] else { return nil }
        touch(i)
        return slots[i]!.value
    }

    /// The value for `key` without marking it used.
    public func peek(_ key: Key) -> Value? {
        index[key].map { slots[$0]!.value }
    }

    /// Stores `value` at `cost` bytes, evicting the least recently used entries as needed. Returns the evicted
    /// entries (the caller may move them to a disk tier), or nil when the value alone exceeds the capacity.
    @discardableResult
    public mutating func set(_ key: Key, _ value: Value, cost: Int) -> [(Key, Value)]? {
        guard cost <= capacity else {
            remove(key)
            return nil
        }
        if let i = index[key] {
            bytes += cost - slots[i]!.cost
            slots[i]!.value = value
            slots[i]!.cost = cost
            touch(i)
        } else {
            let i: Int
            if let reused = free.popLast() {
                i = reused
            } else {
                i = slots.count
                slots.append(nil)
            }
            slots[i] = Slot(key: key, value: value, cost: cost, newer: -1, older: newest)
            if newest >= 0 { slots[newest]!.newer = i }
            newest = i
            if oldest < 0 { oldest = i }
            index[key] = i
            bytes += cost
        }
        var evicted: [(Key, Value)] = []
        while bytes > capacity, oldest >= 0, oldest != index[key] {
            let victim = slots[oldest]!
            evicted.append((victim.key, victim.value))
            remove(victim.key)
            evictions += 1
        }
        return evicted
    }

    /// Removes `key`; returns its value if it was there.
    @discardableResult
    public mutating func remove(_ key: Key) -> Value? {
        guard let i = index.removeValue(forKey: key) else { return nil }
        let slot = slots[i]!
        unlink(i)
        slots[i] = nil
        free.append(i)
        bytes -= slot.cost
        return slot.value
    }

    /// Removes every entry whose key satisfies `predicate` (purge by prefix or by site); returns them.
    @discardableResult
    public mutating func removeAll(where predicate: (Key) -> Bool) -> [(Key, Value)] {
        let doomed = index.keys.filter(predicate)
        return doomed.compactMap { key in remove(key).map { (key, $0) } }
    }

    /// Keys from most to least recently used (for tests and reports).
    public var keysByRecency: [Key] {
        var keys: [Key] = []
        var i = newest
        while i >= 0 {
            keys.append(slots[i]!.key)
            i = slots[i]!.older
        }
        return keys
    }

    private mutating func touch(_ i: Int) {
        guard i != newest else { return }
        unlink(i)
        slots[i]!.older = newest
        slots[i]!.newer = -1
        if newest >= 0 { slots[newest]!.newer = i }
        newest = i
        if oldest < 0 { oldest = i }
    }

    private mutating func unlink(_ i: Int) {
        let slot = slots[i]!
        if slot.newer >= 0 { slots[slot.newer]!.older = slot.older } else { newest = slot.older }
        if slot.older >= 0 { slots[slot.older]!.newer = slot.newer } else { oldest = slot.newer }
    }
}
