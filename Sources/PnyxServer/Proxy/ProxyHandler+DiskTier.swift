import NIOCore
import PnyxCache
import PnyxCore

/// The disk tier on the data path: a memory miss for a key the disk tier has (after a restart, or once memory
/// evicted it) reads the file off the event loop while the request waits, then serves it (fresh), or revalidates
/// it with the origin and keeps it to stand in if the origin fails (stale).
extension ProxyHandler {
    func readFromDisk(_ disk: DiskTier, exchange: Exchange) {
        guard let context, let fill = exchange.cache?.fill else { return }
        exchange.phase = .waiting
        let epoch = runtime.cache.purgeEpoch
        let headers = exchange.head.headers
        disk.read(fill.key, requestValue: { headers[$0] }, eventLoop: context.eventLoop).assumeIsolated().whenSuccess {
            object in
            self.diskReadEnded(object, exchange: exchange, fill: fill, epoch: epoch)
        }
    }

    func diskReadEnded(_ object: CachedObject?, exchange: Exchange, fill: Fill, epoch: Int) {
        // The client may have gone (its fill was then abandoned), and a purge may have run meanwhile.
        guard self.exchange === exchange, exchange.phase == .waiting, let cache = exchange.cache, cache.fill === fill else {
            return
        }
        let now = ProxyRuntime.wallMillis() / 1000
        if let object, runtime.cache.purgeEpoch == epoch {
            if case .fresh = object.use(now: now) {
                cache.fill = nil
                runtime.cache.store.complete(fill, with: .stored(object), now: now)  // memory only: it came from disk
                cacheFront?.put(object)
                serveCached(object, status: .hit, exchange: exchange)
                return
            }
            // Stale: others find it in memory while this request revalidates it.
            runtime.cache.store.store(object)
            cache.stale = object
        }
        exchange.phase = .connecting
        if leadFetch(exchange, now: now) { return }
        forward(exchange)
    }
}
