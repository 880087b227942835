/// One event loop's view of the cache: references to objects of the shared ``ResponseStore`` that this loop
/// served recently, so that a cache hit is a dictionary lookup on the loop's own memory with no lock.
///
/// Used only on its event loop. It holds no object the store does not: an object evicted or purged from the
/// store is marked dropped, and the view lets go of it at its next lookup or sweep.
public final class CacheFront {
    private var lru: ByteBoundedLRU<CacheKey, CachedObject>
    private var lastDropCount = 0

    public init(capacity: Int) {
        lru = ByteBoundedLRU(capacity: capacity)
    }

    public var count: Int { lru.count }

    /// The object this loop last used for `key`, if it is still stored and matches the request's `Vary` fields.
    @inline(__always)
    public func get(_ key: CacheKey, requestValue: (String) -> [String]) -> CachedObject? {
        guard let object = lru.get(key) else { return nil }
        if object.isDropped {
            lru.remove(key)
            return nil
        }
        if object.vary.values.isEmpty { return object }
        return ResponseStore.variant(in: [object], requestValue: requestValue)
    }

    public func put(_ object: CachedObject) {
        guard !object.isDropped else { return }
        lru.set(object.key, object, cost: object.cost)
    }

    public func remove(_ key: CacheKey) {
        lru.remove(key)
    }

    /// Lets go of objects the store dropped; cheap when nothing was dropped since the last sweep.
    public func sweep(dropCount: Int) {
        guard dropCount != lastDropCount else { return }
        lastDropCount = dropCount
        for key in lru.keysByRecency where lru.peek(key)?.isDropped == true { lru.remove(key) }
    }
}
