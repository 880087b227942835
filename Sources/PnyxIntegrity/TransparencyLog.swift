import Crypto
import Dispatch
import Foundation
import Logging
import Synchronization

/// One version of a signed resource in a site's public log.
public struct LogEntry: Codable, Sendable, Equatable {
    public var index: Int
    /// When Pnyx first signed this version, seconds since the epoch.
    public var time: Int64
    /// The request path (and query) it was served under.
    public var path: String
    /// SHA-256 of the content, base64 (the value in its `Content-Digest`).
    public var digest: String

    public init(index: Int, time: Int64, path: String, digest: String) {
        self.index = index
        self.time = time
        self.path = path
        self.digest = digest
    }

    /// The bytes the Merkle leaf hashes: a versioned, line-separated form anyone can rebuild from the entry.
    public var leaf: [UInt8] { Array("pnyx-log-v1\n\(time)\n\(path)\n\(digest)".utf8) }
}

/// The log's state at one moment, signed by the site's key: anyone holding the public key can check that an
/// entry is in the tree this head names (and a later head must contain it too).
public struct TreeHead: Codable, Sendable, Equatable {
    public var site: String
    public var size: Int
    /// Root hash, base64.
    public var root: String
    public var time: Int64
    public var keyid: String
    /// Ed25519 over ``signedText``, base64.
    public var signature: String

    public var signedText: String { "pnyx-tree-head-v1\n\(site)\n\(size)\n\(root)\n\(time)" }

    public func verify(publicKey: Curve25519.Signing.PublicKey) -> Bool {
        guard let bytes = Data(base64Encoded: signature) else { return false }
        return publicKey.isValidSignature(bytes, for: Data(signedText.utf8))
    }
}

/// An inclusion proof as `/.well-known/pnyx/log/proof` serves it.
public struct InclusionProof: Codable, Sendable {
    public var entry: LogEntry
    public var treeHead: TreeHead
    /// Audit path, base64 hashes, leaf to root.
    public var proof: [String]

    /// Checks the proof against the tree head's root (the head's signature is checked separately).
    public func verify() -> Bool {
        guard let root = Data(base64Encoded: treeHead.root) else { return false }
        let path = proof.compactMap { Data(base64Encoded: $0).map { Array($0) } }
        guard path.count == proof.count else { return false }
        return MerkleTree.verifyInclusion(
            index: entry.index, size: treeHead.size, leafHash: MerkleTree.leafHash(entry.leaf), proof: path, root: Array(root))
    }
}

/// A site's append-only log of signed versions, kept in memory (a ``MerkleLog``) and on disk as JSON lines
/// (`<data_dir>/integrity/<site>/log.jsonl`), appended on a background queue (never on an event loop).
/// Entries are only ever added; a line that cannot be read at start-up stops the load there (the rest is kept
/// aside as `log.jsonl.damaged-<time>`), so the published tree never silently changes.
public final class TransparencyLog: Sendable {
    public let site: String
    let key: SiteSigningKey
    let file: String?
    private let writer = DispatchQueue(label: "pnyx.integrity.log")
    private let logger: Logger

    private struct State {
        var tree = MerkleLog()
        var entries: [LogEntry] = []
        /// The newest entry of each path.
        var latest: [String: Int] = [:]
        var head: TreeHead?
    }
    private let state = Mutex(State())

    /// - Parameter file: where entries are kept (nil: memory only, for tools and tests).
    public init(site: String, key: SiteSigningKey, file: String?, logger: Logger = Logger(label: "pnyx.integrity")) {
        self.site = site
        self.key = key
        self.file = file
        self.logger = logger
        guard let file, let data = FileManager.default.contents(atPath: file) else { return }
        var loaded = State()
        let decoder = JSONDecoder()
        var offset = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            defer { offset += line.count + 1 }
            if line.isEmpty { continue }
            guard let entry = try? decoder.decode(LogEntry.self, from: Data(line)), entry.index == loaded.entries.count else {
                let aside = "\(file).damaged-\(Int(Date().timeIntervalSince1970))"
                try? data.write(to: URL(fileURLWithPath: aside))
                try? data.prefix(offset).write(to: URL(fileURLWithPath: file))
                logger.error("integrity log damaged; kept the entries before it", metadata: ["file": "\(file)", "copy": "\(aside)"])
                break
            }
            loaded.tree.append(leafHash: MerkleTree.leafHash(entry.leaf))
            loaded.latest[entry.path] = entry.index
            loaded.entries.append(entry)
        }
        state.withLock { $0 = loaded }
    }

    public var size: Int { state.withLock { $0.entries.count } }

    /// The entry for this version of `path`: the newest one if its digest is the same, else a new entry
    /// (`isNew`).
    public func record(path: String, digest: String, time: Int64) -> (entry: LogEntry, isNew: Bool) {
        let (entry, isNew) = state.withLock { s -> (LogEntry, Bool) in
            if let index = s.latest[path], s.entries[index].digest == digest { return (s.entries[index], false) }
            let entry = LogEntry(index: s.entries.count, time: time, path: path, digest: digest)
            s.entries.append(entry)
            s.tree.append(leafHash: MerkleTree.leafHash(entry.leaf))
            s.latest[path] = entry.index
            s.head = nil
            return (entry, true)
        }
        if isNew, let file { persist(entry, to: file) }
        return (entry, isNew)
    }

    private func persist(_ entry: LogEntry, to file: String) {
        let logger = self.logger
        writer.async {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard var line = try? encoder.encode(entry) else { return }
            line.append(UInt8(ascii: "\n"))
            if !FileManager.default.fileExists(atPath: file) {
                _ = FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o644])
            }
            do {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: line)
                try handle.synchronize()
            } catch {
                logger.error("cannot append to the integrity log", metadata: ["file": "\(file)", "error": "\(error)"])
            }
        }
    }

    /// Waits for queued appends (shutdown, tests).
    public func flush() { writer.sync {} }

    /// The newest entry of `path`, if any.
    public func latest(path: String) -> LogEntry? {
        state.withLock { s in s.latest[path].map { s.entries[$0] } }
    }

    /// The signed head of the current tree (signed again only after the tree grew).
    public func treeHead(now: Int64) -> TreeHead {
        if let head = state.withLock({ $0.head }) { return head }
        let (size, root) = state.withLock { ($0.tree.size, $0.tree.root()) }
        var head = TreeHead(
            site: site, size: size, root: Data(root).base64EncodedString(), time: now, keyid: key.keyID, signature: "")
        head.signature = (try? key.sign(head.signedText)).map { Data($0).base64EncodedString() } ?? ""
        state.withLock { s in if s.tree.size == size { s.head = head } }
        return head
    }

    public func entries(from start: Int, count: Int) -> [LogEntry] {
        state.withLock { s in
            guard start < s.entries.count, start >= 0 else { return [] }
            return Array(s.entries[start..<min(s.entries.count, start + max(0, count))])
        }
    }

    /// The proof that entry `index` is in the current tree.
    public func proof(index: Int, now: Int64) -> InclusionProof? {
        let head = treeHead(now: now)
        return state.withLock { s -> InclusionProof? in
            guard index >= 0, index < head.size, head.size <= s.entries.count else { return nil }
            let path = s.tree.inclusionProof(index: index, size: head.size).map { Data($0).base64EncodedString() }
            return InclusionProof(entry: s.entries[index], treeHead: head, proof: path)
        }
    }
}
