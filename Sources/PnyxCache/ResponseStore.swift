import Atomics
import NIOCore
import PnyxCore
import Synchronization

/// The cache's memory tier, shared by every event loop and kept across reloads: stored responses by key (each
/// key with its `Vary` variants), the fetches in flight (for request coalescing), and the keys recently found
/// uncacheable.
///
/// It is split into shards, each behind its own mutex, and it is reached only when an event loop's own view
/// (``CacheFront``) has no usable copy: a miss, an expiry, or the first request for a key on that loop. Cache
/// hits take no lock.
public final class ResponseStore: Sendable {
    struct Shard {
        var lru: ByteBoundedLRU<CacheKey, [CachedObject]>
        /// Fetches in flight, by key: later requests for the key wait for them.
        var fills: [CacheKey: Fill] = [:]
        /// Keys whose last response could not be stored, until when (requests go straight to the origin).
        var passUntil: [CacheKey: Int64] = [:]
    }
    final class ShardBox: Sendable {
        let state: Mutex<Shard>
        init(capacity: Int) { state = Mutex(Shard(lru: ByteBoundedLRU(capacity: capacity))) }
    }

    private let shards: [ShardBox]
    public let capacity: Int64
    public let maxObjectBytes: Int64
    /// Totals for metrics.
    private let storedBytes = ManagedAtomic<Int>(0)
    private let storedObjects = ManagedAtomic<Int>(0)
    public let evictions = ManagedAtomic<Int>(0)
    /// Counts objects dropped (evicted, purged, replaced), so per-loop views know when to sweep.
    private let drops = ManagedAtomic<Int>(0)
    public var dropCount: Int { drops.load(ordering: .relaxed) }

    /// How long a key whose response could not be stored is passed straight to the origin.
    public static let passSeconds: Int64 = 10

    public init(capacity: Int64, maxObjectBytes: Int64, shards: Int = 16) {
        let count = max(1, min(shards, Int(capacity / max(1, maxObjectBytes * 2))))
        self.capacity = capacity
        self.maxObjectBytes = maxObjectBytes
        self.shards = (0..<count).map { _ in ShardBox(capacity: Int(capacity) / count) }
    }

    @inline(__always)
    private func shard(_ key: CacheKey) -> ShardBox {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    public var bytes: Int { storedBytes.load(ordering: .relaxed) }
    public var objects: Int { storedObjects.load(ordering: .relaxed) }

    /// What a request should do, from the store's point of view.
    public enum Lookup: Sendable {
        /// A usable stored response (fresh, or stale while a refresh runs or is started by `refresh`).
        case found(CachedObject, refresh: Fill?)
        /// Ask the origin and report with ``complete(_:with:)``; `stale` is the stored copy, if any (revalidate
        /// with its validators; serve it if the origin fails).
        case lead(Fill, stale: CachedObject?)
        /// Another request is fetching the key: the waiter will be called with its result.
        case wait(stale: CachedObject?)
        /// The key is known to be uncacheable: ask the origin, store nothing.
        case pass(stale: CachedObject?)
    }

    /// Finds the variant of `key` that matches the request, and decides what the request does.
    /// - Parameters:
    ///   - requestValue: the request's values of a header field, by lower-case name (for `Vary`).
    ///   - waiter: made only if the request must wait for a fetch in flight.
    public func lookup(
        _ key: CacheKey, requestValue: (String) -> [String], now: Int64, waiter: () -> CacheWaiter
    ) -> Lookup {
        shard(key).state.withLock { shard in
            let stored = shard.lru.get(key).flatMap { Self.variant(in: $0, requestValue: requestValue) }
            if let stored {
                switch stored.use(now: now) {
                case .fresh:
                    return .found(stored, refresh: nil)
                case .staleWhileRevalidate:
                    if shard.fills[key] != nil { return .found(stored, refresh: nil) }
                    let fill = Fill(key: key, background: true)
                    shard.fills[key] = fill
                    return .found(stored, refresh: fill)
                case .revalidate:
                    break
                }
            }
            if let until = shard.passUntil[key] {
                if until > now { return .pass(stale: stored) }
                shard.passUntil[key] = nil
            }
            if let fill = shard.fills[key] {
                fill.waiters.withLock { $0.append(waiter()) }
                return .wait(stale: stored)
            }
            let fill = Fill(key: key, background: false)
            shard.fills[key] = fill
            return .lead(fill, stale: stored)
        }
    }

    /// Starts a background fetch of `key` unless one is running (publish, stale-while-revalidate).
    public func beginRefresh(_ key: CacheKey) -> Fill? {
        shard(key).state.withLock { shard in
            if shard.fills[key] != nil { return nil }
            let fill = Fill(key: key, background: true)
            shard.fills[key] = fill
            return fill
        }
    }

    /// The stored variant of `key` that matches the request, without deciding anything.
    public func peek(_ key: CacheKey, requestValue: (String) -> [String]) -> CachedObject? {
        shard(key).state.withLock { shard in
            shard.lru.peek(key).flatMap { Self.variant(in: $0, requestValue: requestValue) }
        }
    }

    public static func variant(in variants: [CachedObject], requestValue: (String) -> [String]) -> CachedObject? {
        for object in variants {
            if object.vary.values.isEmpty { return object }
            let names = object.vary.values.map(\.name)
            if object.vary.matches(VaryKey(varyNames: names, requestValues: requestValue)) { return object }
        }
        return nil
    }

    /// The end of a fetch: stores the object (if any), and wakes every request that waited for it.
    public func complete(_ fill: Fill, with result: FillResult, now: Int64) {
        var evicted: [CachedObject] = []
        shard(fill.key).state.withLock { shard in
            if shard.fills[fill.key] === fill { shard.fills[fill.key] = nil }
            switch result {
            case .stored(let object):
                evicted = insert(object, into: &shard)
                shard.passUntil[fill.key] = nil
            case .uncacheable:
                shard.passUntil[fill.key] = now + Self.passSeconds
            case .failed, .abandoned:
                break
            }
        }
        for object in evicted { object.drop() }
        if !evicted.isEmpty { drops.wrappingIncrement(by: evicted.count, ordering: .relaxed) }
        // No waiter can join now: the fill left the shard's table under its lock.
        let waiters = fill.waiters.withLock { w -> [CacheWaiter] in
            let all = w
            w = []
            return all
        }
        for waiter in waiters { waiter.deliver(result) }
    }

    /// Stores an object directly (tests, tools).
    public func store(_ object: CachedObject) {
        var evicted: [CachedObject] = []
        shard(object.key).state.withLock { shard in evicted = insert(object, into: &shard) }
        for object in evicted { object.drop() }
        if !evicted.isEmpty { drops.wrappingIncrement(by: evicted.count, ordering: .relaxed) }
    }

    private func insert(_ object: CachedObject, into shard: inout Shard) -> [CachedObject] {
        guard Int64(object.body.readableBytes) <= maxObjectBytes else { return [] }
        var variants = shard.lru.peek(object.key) ?? []
        var replaced: [CachedObject] = []
        variants.removeAll { existing in
            let same = existing.vary.values == object.vary.values
            if same { replaced.append(existing) }
            return same
        }
        variants.insert(object, at: 0)
        if variants.count > 8 { replaced.append(contentsOf: variants.suffix(from: 8)); variants.removeLast(variants.count - 8) }
        let before = shard.lru.bytes
        let beforeCount = shard.lru.count
        let cost = variants.reduce(0) { $0 + $1.cost }
        var dropped = replaced
        if let evicted = shard.lru.set(object.key, variants, cost: cost) {
            for (_, objects) in evicted { dropped.append(contentsOf: objects) }
            evictions.wrappingIncrement(by: evicted.count, ordering: .relaxed)
        }
        storedBytes.wrappingIncrement(by: shard.lru.bytes - before, ordering: .relaxed)
        storedObjects.wrappingIncrement(by: shard.lru.count - beforeCount, ordering: .relaxed)
        for object in replaced { object.drop() }
        if !replaced.isEmpty { drops.wrappingIncrement(by: replaced.count, ordering: .relaxed) }
        return dropped.filter { old in !replaced.contains { $0 === old } }
    }

    /// Removes every stored response whose key satisfies `predicate`; returns the keys removed.
    @discardableResult
    public func purge(where predicate: @Sendable (CacheKey) -> Bool) -> [CacheKey] {
        var removed: [CacheKey] = []
        for box in shards {
            let gone = box.state.withLock { shard -> [(CacheKey, [CachedObject])] in
                let before = shard.lru.bytes
                let gone = shard.lru.removeAll(where: predicate)
                shard.passUntil = shard.passUntil.filter { !predicate($0.key) }
                storedBytes.wrappingDecrement(by: before - shard.lru.bytes, ordering: .relaxed)
                storedObjects.wrappingDecrement(by: gone.count, ordering: .relaxed)
                return gone
            }
            for (_, objects) in gone { for object in objects { object.drop() } }
            drops.wrappingIncrement(by: gone.count, ordering: .relaxed)
            removed += gone.map(\.0)
        }
        return removed
    }
}

/// One fetch from the origin that other requests for the same key wait for.
public final class Fill: Sendable {
    public let key: CacheKey
    /// A refresh nobody waits on (stale-while-revalidate, publish).
    public let background: Bool
    let waiters = Mutex<[CacheWaiter]>([])

    init(key: CacheKey, background: Bool) {
        self.key = key
        self.background = background
    }
}

/// How a fetch ended, as the requests that waited for it learn.
public enum FillResult: Sendable {
    /// The response was stored (or a stored one revalidated): serve it.
    case stored(CachedObject)
    /// The response may not be shared: ask the origin yourselves.
    case uncacheable
    /// The origin failed: serve a stale copy if you may, else the error.
    case failed(FillFailure)
    /// The fetching request went away or the response was too large to keep: ask the origin yourselves.
    case abandoned

    public var isFailure: Bool {
        if case .failed = self { return true }
        return false
    }
}

public enum FillFailure: Sendable, Equatable {
    /// The origin could not be reached or broke the response (502).
    case unreachable
    /// The origin did not answer in time (504).
    case timeout
    /// The origin answered with a server error: the status is passed on.
    case serverError(Int)
}

/// A request waiting for another's fetch: `deliver` is called once, on any thread, with the result.
public final class CacheWaiter: Sendable {
    public let deliver: @Sendable (FillResult) -> Void
    public init(deliver: @escaping @Sendable (FillResult) -> Void) { self.deliver = deliver }
}
