import Atomics
import Logging
import NIOCore
import NIOPosix
import PnyxCache
import PnyxCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The cache's disk tier: every stored response is also written to `<data_dir>/cache` (one file per variant), so
/// a restarted node still has its copies: fresh ones are served, stale ones are revalidated or stand in while the
/// origin is down.
///
/// All file work runs on one thread of its own, in order (a purge can never be overtaken by an older write); event
/// loops only look at the index (on a memory miss) and queue work. Writes are best-effort: when the disk falls
/// more than 64 MiB behind, or fails, a response is kept in memory only, and the data path never waits for a
/// write.
public final class DiskTier: Sendable {
    public let directory: String
    public let capacity: Int64
    private let pool: NIOThreadPool
    private let index = Mutex(Index())
    private let logger: Logger
    /// Bytes queued for writing and not yet written.
    private let pending = ManagedAtomic<Int64>(0)
    static let maxPendingBytes: Int64 = 64 << 20
    public let counters = Counters()
    private let lastErrorLog = ManagedAtomic<Int64>(0)

    public final class Counters: Sendable {
        public let writes = ManagedAtomic<Int>(0)
        public let reads = ManagedAtomic<Int>(0)
        public let errors = ManagedAtomic<Int>(0)
        /// Writes skipped because the disk was too far behind.
        public let skipped = ManagedAtomic<Int>(0)
        public let evictions = ManagedAtomic<Int>(0)
    }

    struct Entry {
        let path: String
        let vary: VaryKey
        let bytes: Int64
        var lastUse: UInt64
    }

    struct Index {
        var entries: [CacheKey: [Entry]] = [:]
        var bytes: Int64 = 0
        var objects = 0
        var clock: UInt64 = 0
    }

    public init(directory: String, capacity: Int64, logger: Logger) {
        self.directory = directory
        self.capacity = capacity
        self.logger = logger
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Indexes what an earlier run left on disk (in the background: until a file is indexed, its key is a miss).
    public func start() {
        pool.submit { state in
            guard case .active = state else { return }
            self.scan()
        }
    }

    /// Waits until the files of the earlier run are indexed, or `timeout` passed (start-up waits for this, so a
    /// restarted node answers from its disk from the first request).
    public func waitUntilIndexed(timeout: Duration) async {
        let pool = self.pool
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await pool.runIfActive {} }  // the queue is in order: this runs after the scan
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    public var bytes: Int64 { index.withLock { $0.bytes } }
    public var objects: Int { index.withLock { $0.objects } }

    /// Whether a variant of `key` may be on disk (cheap: the index only).
    public func mayHave(_ key: CacheKey) -> Bool {
        index.withLock { $0.entries[key] != nil }
    }

    /// Queues `object` for writing (replacing the file of the same variant).
    public func write(_ object: CachedObject) {
        let cost = Int64(object.body.readableBytes + object.headers.bytes.readableBytes + 512)
        if pending.loadThenWrappingIncrement(by: cost, ordering: .relaxed) + cost > Self.maxPendingBytes {
            pending.wrappingDecrement(by: cost, ordering: .relaxed)
            counters.skipped.wrappingIncrement(ordering: .relaxed)
            return
        }
        pool.submit { _ in
            // Also when cancelled: a graceful shutdown runs the queue out, so queued writes still land.
            defer { self.pending.wrappingDecrement(by: cost, ordering: .relaxed) }
            self.store(object)
        }
    }

    /// Reads the variant of `key` that matches the request, completing on `eventLoop` (nil: not on disk, or
    /// damaged).
    public func read(
        _ key: CacheKey, requestValue: (String) -> [String], eventLoop: any EventLoop
    ) -> EventLoopFuture<CachedObject?> {
        let candidates = index.withLock { $0.entries[key] ?? [] }
        guard let entry = candidates.first(where: { $0.vary.values.isEmpty || $0.vary.matches(Self.varyKey($0.vary, requestValue)) })
        else { return eventLoop.makeSucceededFuture(nil) }
        return pool.runIfActive(eventLoop: eventLoop) { () -> CachedObject? in
            guard let record = Self.readFile(entry.path), let object = StoredRecord.decode(record), object.key == key,
                object.vary.values == entry.vary.values
            else {
                self.remove(key: key, path: entry.path)
                return nil
            }
            self.index.withLock { index in
                index.clock += 1
                let clock = index.clock
                if let i = index.entries[key]?.firstIndex(where: { $0.path == entry.path }) { index.entries[key]?[i].lastUse = clock }
            }
            self.counters.reads.wrappingIncrement(ordering: .relaxed)
            return object
        }.recover { _ in nil }
    }

    /// Removes every stored variant whose key satisfies `predicate`, after every write queued before it. Returns
    /// the keys removed.
    public func purge(where predicate: @escaping @Sendable (CacheKey) -> Bool) async -> Set<CacheKey> {
        (try? await pool.runIfActive { () -> Set<CacheKey> in
            let gone = self.index.withLock { index -> [(CacheKey, [Entry])] in
                let gone = index.entries.filter { predicate($0.key) }
                for (key, entries) in gone {
                    index.entries[key] = nil
                    index.bytes -= entries.reduce(0) { $0 + $1.bytes }
                    index.objects -= entries.count
                }
                return Array(gone)
            }
            for (_, entries) in gone { for entry in entries { unlink(entry.path) } }
            return Set(gone.map(\.0))
        }) ?? []
    }

    // MARK: on the disk thread

    private func store(_ object: CachedObject) {
        let record = StoredRecord.encode(object)
        let path = self.path(for: object)
        var written = Self.writeFile(record, to: path)
        if !written && errno == ENOENT && Self.makeDirectory(String(path[..<path.lastIndex(of: "/")!])) {
            written = Self.writeFile(record, to: path)  // the first file of its subdirectory
        }
        guard written else {
            failed("cannot write \(path): \(String(cString: strerror(errno)))")
            return
        }
        counters.writes.wrappingIncrement(ordering: .relaxed)
        let size = Int64(record.readableBytes)
        let victims = index.withLock { index -> [Entry] in
            index.clock += 1
            var entries = index.entries[object.key] ?? []
            if let i = entries.firstIndex(where: { $0.path == path }) {
                index.bytes -= entries[i].bytes
                index.objects -= 1
                entries.remove(at: i)
            }
            entries.insert(Entry(path: path, vary: object.vary, bytes: size, lastUse: index.clock), at: 0)
            index.entries[object.key] = entries
            index.bytes += size
            index.objects += 1
            return Self.evict(&index, capacity: capacity)
        }
        for victim in victims { unlink(victim.path) }
        if !victims.isEmpty { counters.evictions.wrappingIncrement(by: victims.count, ordering: .relaxed) }
    }

    /// Over the bound: the least recently used variants go until the tier is at 90% of it.
    static func evict(_ index: inout Index, capacity: Int64) -> [Entry] {
        guard index.bytes > capacity else { return [] }
        var all: [(CacheKey, Entry)] = []
        for (key, entries) in index.entries { for entry in entries { all.append((key, entry)) } }
        all.sort { $0.1.lastUse < $1.1.lastUse }
        var victims: [Entry] = []
        for (key, entry) in all {
            if index.bytes <= capacity / 10 * 9 { break }
            index.entries[key]?.removeAll { $0.path == entry.path }
            if index.entries[key]?.isEmpty == true { index.entries[key] = nil }
            index.bytes -= entry.bytes
            index.objects -= 1
            victims.append(entry)
        }
        return victims
    }

    private func remove(key: CacheKey, path: String) {
        index.withLock { index in
            guard var entries = index.entries[key], let i = entries.firstIndex(where: { $0.path == path }) else { return }
            index.bytes -= entries[i].bytes
            index.objects -= 1
            entries.remove(at: i)
            index.entries[key] = entries.isEmpty ? nil : entries
        }
        unlink(path)
    }

    /// Builds the index from the files of an earlier run; removes damaged and half-written ones.
    private func scan() {
        guard Self.makeDirectory(directory) else {
            failed("cannot create \(directory): \(String(cString: strerror(errno)))")
            return
        }
        var found: [(CacheKey, Entry)] = []
        for sub in Self.list(directory) where sub.utf8.count == 2 {
            let subdirectory = directory + "/" + sub
            for name in Self.list(subdirectory) {
                let path = subdirectory + "/" + name
                guard name.hasSuffix(".pnx"), let (summary, size) = Self.readSummary(path) else {
                    unlink(path)
                    continue
                }
                found.append((summary.key, Entry(path: path, vary: summary.vary, bytes: size, lastUse: 0)))
            }
        }
        let victims = index.withLock { index -> [Entry] in
            for (key, entry) in found {
                index.clock += 1
                var e = entry
                e.lastUse = index.clock
                index.entries[key, default: []].append(e)
                index.bytes += e.bytes
                index.objects += 1
            }
            return Self.evict(&index, capacity: capacity)
        }
        for victim in victims { unlink(victim.path) }
        if !found.isEmpty {
            logger.info(
                "cache: found stored responses on disk",
                metadata: ["pnyx.objects": "\(found.count - victims.count)", "pnyx.directory": "\(directory)"])
        }
    }

    private func failed(_ message: String) {
        counters.errors.wrappingIncrement(ordering: .relaxed)
        let now = ProxyRuntime.wallMillis()
        let last = lastErrorLog.load(ordering: .relaxed)
        if now - last > 60_000, lastErrorLog.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logger.warning("cache: disk tier write failed (responses stay in memory only)", metadata: ["pnyx.error": "\(message)"])
        }
    }

    // MARK: files

    /// `<directory>/<2 hex>/<32 hex>.pnx`, from the key and the variant.
    func path(for object: CachedObject) -> String {
        var text = object.key.site + "\u{0}" + object.key.host + "\u{0}" + object.key.target
        for value in object.vary.values { text += "\u{0}" + value.name + "=" + (value.value ?? "\u{1}") }
        let (a, b) = Self.hash128(text)
        let hex = Self.hex(a) + Self.hex(b)
        return directory + "/" + String(hex.prefix(2)) + "/" + hex + ".pnx"
    }

    /// Two FNV-1a passes with different bases (file names only: the file holds the full key, checked on read).
    static func hash128(_ text: String) -> (UInt64, UInt64) {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x6c62_272e_07bb_0142
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = (b &* 0x0000_0100_0000_01b3) ^ UInt64(byte) ^ (b >> 29)
        }
        return (a, b)
    }

    static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func varyKey(_ stored: VaryKey, _ requestValue: (String) -> [String]) -> VaryKey {
        VaryKey(varyNames: stored.values.map(\.name), requestValues: requestValue)
    }

    static func makeDirectory(_ path: String) -> Bool { Directories.create(path) == nil }

    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes to a temporary name, then renames: a reader never sees half a file.
    static func writeFile(_ buffer: ByteBuffer, to path: String) -> Bool {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return false }
        let ok = buffer.withUnsafeReadableBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }

    static func readFile(_ path: String) -> ByteBuffer? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0, info.st_size < 1 << 31 else { return nil }
        let size = Int(info.st_size)
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw -> Int in
            var offset = 0
            while offset < size {
                let n = pread(fd, raw.baseAddress! + offset, size - offset, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
            return offset
        }
        return read == size ? buffer : nil
    }

    /// The key and variant of a file, and its size, reading only the metadata.
    static func readSummary(_ path: String) -> (StoredRecord.Summary, Int64)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        guard let prefix = readExactly(fd, at: 0, count: StoredRecord.prefixLength),
            let length = StoredRecord.metaLength(prefix: prefix),
            let meta = readExactly(fd, at: StoredRecord.prefixLength, count: length),
            let summary = StoredRecord.summary(meta: meta)
        else { return nil }
        return (summary, Int64(info.st_size))
    }

    static func readExactly(_ fd: Int32, at offset: Int, count: Int) -> ByteBuffer? {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw -> Int in
            var done = 0
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            return done
        }
        return read == count ? buffer : nil
    }
}
