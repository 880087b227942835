import Atomics
import Crypto
import Dispatch
import Foundation
import Logging
import NIOCore
import PnyxCore
import Synchronization

/// The approved version of a pinned path.
public struct Baseline: Codable, Sendable, Equatable {
    /// The path (and query, if it was pinned with one).
    public var path: String
    public var contentType: String
    /// SHA-256 of the body as approved, base64.
    public var digest: String
    /// SHA-256 of the body with the ignored parts taken out, base64: what versions are compared by.
    public var normalisedDigest: String
    public var size: Int
    /// Seconds since the epoch.
    public var approvedAt: Int64
    /// Who approved it (`pin`, `approve`, a user name once the admin API has users).
    public var approvedBy: String
}

/// A version seen at the origin that differs from the baseline, held for approval.
public struct PendingVersion: Codable, Sendable, Equatable {
    public var path: String
    public var contentType: String
    public var digest: String
    public var normalisedDigest: String
    public var size: Int
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// Origin responses that carried it.
    public var seen: Int
}

/// A pinned path with its approved body, as the data path reads it.
public final class PinnedPage: Sendable {
    public let baseline: Baseline
    public let body: ByteBuffer
    init(baseline: Baseline, body: ByteBuffer) {
        self.baseline = baseline
        self.body = body
    }
}

/// Every pinned path of a site, replaced whole on each change and read without a lock.
public final class PinnedSet: AtomicReference, Sendable {
    public let pages: [String: PinnedPage]
    init(_ pages: [String: PinnedPage]) { self.pages = pages }
}

/// A site's baselines and pending versions, in memory and under `<data_dir>/integrity/<site>/` (`baselines/`,
/// `pending/`: one `.json` and one `.body` file per path). Reads on the data path are one atomic load; changes
/// (pin, approve, a new pending version) are rare and written to disk on a background queue.
public final class BaselineStore: Sendable {
    let directory: String?
    private let pinned = ManagedAtomic(PinnedSet([:]))
    /// How many pages `pinned` holds. Loading an atomic reference writes to it (it counts its readers), so every
    /// page view would make the cores take its cache line from each other; with nothing pinned (most sites, most
    /// of the time) a plain load of this number answers instead.
    private let pinnedCount = ManagedAtomic(0)
    private let pending = Mutex<[String: PendingVersion]>([:])
    /// Bodies of pending versions not yet approved (memory copy; the disk copy survives restarts).
    private let pendingBodies = Mutex<[String: [UInt8]]>([:])
    private let writer = DispatchQueue(label: "pnyx.integrity.baselines")
    private let logger: Logger

    public init(directory: String?, logger: Logger = Logger(label: "pnyx.integrity")) {
        self.directory = directory
        self.logger = logger
        guard let directory else { return }
        var pages: [String: PinnedPage] = [:]
        for (meta, body) in Self.load(Baseline.self, in: "\(directory)/baselines") {
            pages[meta.path] = PinnedPage(baseline: meta, body: ByteBuffer(bytes: body))
        }
        publish(pages)
        var held: [String: PendingVersion] = [:]
        var bodies: [String: [UInt8]] = [:]
        for (meta, body) in Self.load(PendingVersion.self, in: "\(directory)/pending") {
            held[meta.path] = meta
            bodies[meta.path] = body
        }
        pending.withLock { $0 = held }
        pendingBodies.withLock { $0 = bodies }
    }

    /// The pinned page for `path`, if any. One atomic load and a dictionary read.
    public func page(_ path: String) -> PinnedPage? {
        guard pinnedCount.load(ordering: .relaxed) > 0 else { return nil }
        let set = pinned.load(ordering: .acquiring)
        return set.pages.isEmpty ? nil : set.pages[path]
    }

    private func publish(_ pages: [String: PinnedPage]) {
        pinned.store(PinnedSet(pages), ordering: .releasing)
        pinnedCount.store(pages.count, ordering: .releasing)
    }

    public var isEmpty: Bool { pinnedCount.load(ordering: .relaxed) == 0 }
    public var baselines: [Baseline] { pinned.load(ordering: .acquiring).pages.values.map(\.baseline).sorted { $0.path < $1.path } }
    public var pendingVersions: [PendingVersion] { pending.withLock { Array($0.values) }.sorted { $0.path < $1.path } }

    /// Makes `body` the approved version of `path`.
    @discardableResult
    public func pin(path: String, contentType: String, body: [UInt8], normaliser: PageNormaliser, by who: String, now: Int64) -> Baseline {
        let baseline = Baseline(
            path: path, contentType: contentType, digest: Self.digest(body),
            normalisedDigest: Self.digest(normaliser.normalise(body, isHTML: Self.isHTML(contentType))), size: body.count,
            approvedAt: now, approvedBy: who)
        var pages = pinned.load(ordering: .acquiring).pages
        pages[path] = PinnedPage(baseline: baseline, body: ByteBuffer(bytes: body))
        publish(pages)
        pending.withLock { _ = $0.removeValue(forKey: path) }
        pendingBodies.withLock { _ = $0.removeValue(forKey: path) }
        if let directory {
            let name = Self.fileName(path)
            write(baseline, body: body, to: "\(directory)/baselines", name: name)
            remove("\(directory)/pending", name: name)
        }
        return baseline
    }

    /// Stops comparing `path`. Returns whether it was pinned.
    public func unpin(path: String) -> Bool {
        var pages = pinned.load(ordering: .acquiring).pages
        guard pages.removeValue(forKey: path) != nil else { return false }
        publish(pages)
        pending.withLock { _ = $0.removeValue(forKey: path) }
        pendingBodies.withLock { _ = $0.removeValue(forKey: path) }
        if let directory {
            remove("\(directory)/baselines", name: Self.fileName(path))
            remove("\(directory)/pending", name: Self.fileName(path))
        }
        return true
    }

    /// Records a differing version seen at the origin. Returns true when it is a version not seen before (the
    /// caller raises an alert then; repeats are only counted).
    public func hold(path: String, contentType: String, body: [UInt8], digest: String, normalisedDigest: String, now: Int64) -> Bool {
        let (isNew, version) = pending.withLock { held -> (Bool, PendingVersion) in
            if var existing = held[path], existing.normalisedDigest == normalisedDigest {
                existing.lastSeen = now
                existing.seen += 1
                held[path] = existing
                return (false, existing)
            }
            let version = PendingVersion(
                path: path, contentType: contentType, digest: digest, normalisedDigest: normalisedDigest, size: body.count,
                firstSeen: now, lastSeen: now, seen: 1)
            held[path] = version
            return (true, version)
        }
        if isNew {
            pendingBodies.withLock { $0[path] = body }
            if let directory { write(version, body: body, to: "\(directory)/pending", name: Self.fileName(path)) }
        }
        return isNew
    }

    /// Makes the pending version of `path` its baseline. Returns it, or nil if nothing is pending.
    public func approvePending(path: String, normaliser: PageNormaliser, by who: String, now: Int64) -> Baseline? {
        guard let version = pending.withLock({ $0[path] }), let body = pendingBodies.withLock({ $0[path] }) else { return nil }
        return pin(path: path, contentType: version.contentType, body: body, normaliser: normaliser, by: who, now: now)
    }

    /// Discards the version of `path` held for approval (the pinned copy stays the reference). Returns whether one
    /// was held. If the origin still serves it, the next request holds it again and raises a new alert.
    public func rejectPending(path: String) -> Bool {
        guard pending.withLock({ $0.removeValue(forKey: path) }) != nil else { return false }
        pendingBodies.withLock { _ = $0.removeValue(forKey: path) }
        if let directory { remove("\(directory)/pending", name: Self.fileName(path)) }
        return true
    }

    /// Waits for queued file writes (tests, shutdown).
    public func flush() { writer.sync {} }

    // MARK: files

    static func digest<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Data(SHA256.hash(data: Array(bytes))).base64EncodedString()
    }

    /// Whether a `Content-Type` names HTML (`text/html`, `application/xhtml+xml`), without allocating.
    public static func isHTML(_ contentType: String) -> Bool {
        startsCaseInsensitive(contentType, "text/html") || startsCaseInsensitive(contentType, "application/xhtml")
    }

    static func startsCaseInsensitive(_ text: String, _ lowerPrefix: StaticString) -> Bool {
        var utf8 = text.utf8.makeIterator()
        let prefix = UnsafeBufferPointer(start: lowerPrefix.utf8Start, count: lowerPrefix.utf8CodeUnitCount)
        for expected in prefix {
            guard let b = utf8.next() else { return false }
            let lower = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
            if lower != expected { return false }
        }
        return true
    }

    static func fileName(_ path: String) -> String {
        Array(SHA256.hash(data: Array(path.utf8))).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    private func write<T: Encodable & Sendable>(_ meta: T, body: [UInt8], to directory: String, name: String) {
        let logger = self.logger
        writer.async {
            do {
                if let problem = Directories.create(directory) { throw BaselineFileError(message: problem) }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                // Body first, then the metadata that names it: a crash between leaves no metadata without a body.
                try Data(body).write(to: URL(fileURLWithPath: "\(directory)/\(name).body"), options: .atomic)
                try encoder.encode(meta).write(to: URL(fileURLWithPath: "\(directory)/\(name).json"), options: .atomic)
            } catch {
                logger.error("cannot write integrity file", metadata: ["directory": "\(directory)", "error": "\(error)"])
            }
        }
    }

    private func remove(_ directory: String, name: String) {
        writer.async {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name).json")
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name).body")
        }
    }

    static func load<T: Decodable>(_ type: T.Type, in directory: String) -> [(T, [UInt8])] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(T, [UInt8])] = []
        for name in names where name.hasSuffix(".json") {
            let base = String(name.dropLast(5))
            guard let meta = FileManager.default.contents(atPath: "\(directory)/\(name)"),
                let decoded = try? JSONDecoder().decode(T.self, from: meta),
                let body = FileManager.default.contents(atPath: "\(directory)/\(base).body")
            else { continue }
            out.append((decoded, Array(body)))
        }
        return out
    }
}

struct BaselineFileError: Error {
    var message: String
}
