import Dispatch
import Foundation
import Logging
import Synchronization

/// A script seen on a site, in its inventory.
public struct ScriptRecord: Codable, Sendable, Equatable {
    /// The absolute URL, or `inline:sha256-…`.
    public var id: String
    public var kind: FoundScript.Kind
    /// The external script's host (nil for inline).
    public var host: String?
    /// Served from a host that is not one of the site's.
    public var thirdParty: Bool
    /// `sha256-<base64>` of the content: an inline script's text, an external one's body as last fetched.
    public var contentHash: String?
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// When an external script was last fetched (0: never).
    public var lastFetched: Int64
    /// Pages it was seen on (at most 20).
    public var pages: [String]
    /// Approved by staff: allowed by the enforced policy (and not reported).
    public var approved: Bool
    /// The content hash when it was approved (an own script's SRI value under enforcement).
    public var approvedHash: String?
    /// The known-bad signature it matches, if any.
    public var flagged: String?
    /// How it was found: `html` (in a page Pnyx served) or `csp-report` (a browser reported loading it).
    public var source: String
}

/// What changed in an inventory, for events.
public enum InventoryChange: Sendable, Equatable {
    case newScript(ScriptRecord)
    /// The first script from a third-party host.
    case newDomain(String, ScriptRecord)
    /// An external script's content is not what it was (`old` hash).
    case changed(ScriptRecord, old: String)
    case knownBad(ScriptRecord, signature: String, kind: String)
}

/// A site's script inventory (Page Shield-like): every script its pages load, when first and last seen, where, and
/// its content hash. Kept in memory and in `<data_dir>/integrity/<site>/scripts.json` (written on a background
/// queue). Updated only by sampled page scans and CSP reports, never on every request.
public final class ScriptInventory: Sendable {
    let file: String?
    private let records = Mutex<[String: ScriptRecord]>([:])
    private let writer = DispatchQueue(label: "pnyx.integrity.scripts")
    private let dirty = Mutex(false)
    private let logger: Logger
    public static let maxRecords = 5000

    public init(file: String?, logger: Logger = Logger(label: "pnyx.integrity")) {
        self.file = file
        self.logger = logger
        if let file, let data = FileManager.default.contents(atPath: file),
            let list = try? JSONDecoder().decode([ScriptRecord].self, from: data)
        {
            records.withLock { all in for r in list { all[r.id] = r } }
        }
    }

    public var all: [ScriptRecord] { records.withLock { Array($0.values) }.sorted { $0.firstSeen == $1.firstSeen ? $0.id < $1.id : $0.firstSeen < $1.firstSeen } }

    public func record(_ id: String) -> ScriptRecord? { records.withLock { $0[id] } }

    /// Records scripts seen on `page`. Returns what is new (a script, a third-party host, a known-bad match).
    public func observe(_ scripts: [FoundScript], page: String, siteHosts: [String], source: String, now: Int64) -> [InventoryChange] {
        var changes: [InventoryChange] = []
        records.withLock { all in
            var knownHosts = Set(all.values.compactMap { $0.thirdParty ? $0.host : nil })
            for script in scripts {
                let id = script.id
                guard !id.isEmpty, id != "inline:" else { continue }
                if var existing = all[id] {
                    existing.lastSeen = now
                    if !existing.pages.contains(page) && existing.pages.count < 20 { existing.pages.append(page) }
                    all[id] = existing
                    continue
                }
                guard all.count < Self.maxRecords else { continue }
                let host = script.kind == .external ? ScriptExtractor.host(of: id) : nil
                let thirdParty = host.map { h in !siteHosts.contains { $0 == h || ($0.hasPrefix("*.") && h.hasSuffix($0.dropFirst())) } } ?? false
                var record = ScriptRecord(
                    id: id, kind: script.kind, host: host, thirdParty: thirdParty, contentHash: script.hash, firstSeen: now,
                    lastSeen: now, lastFetched: 0, pages: [page], approved: false, approvedHash: nil, flagged: nil, source: source)
                let signature = KnownBadScripts.match(id) ?? KnownBadScripts.match(script.text)
                record.flagged = signature?.name
                all[id] = record
                changes.append(.newScript(record))
                if let host, thirdParty, !knownHosts.contains(host) {
                    knownHosts.insert(host)
                    changes.append(.newDomain(host, record))
                }
                if let signature { changes.append(.knownBad(record, signature: signature.name, kind: signature.kind)) }
            }
        }
        if !changes.isEmpty { save() }
        return changes
    }

    /// External scripts due a fetch (never fetched, or not for `interval` seconds), at most `limit`; marked as
    /// fetched now so two scans do not fetch the same one.
    public func dueForFetch(among ids: [String], now: Int64, interval: Int64, limit: Int) -> [String] {
        records.withLock { all in
            var due: [String] = []
            for id in ids where due.count < limit {
                guard var r = all[id], r.kind == .external, r.lastFetched == 0 || now - r.lastFetched >= interval else { continue }
                r.lastFetched = now
                all[id] = r
                due.append(id)
            }
            return due
        }
    }

    /// An external script's fetched content: returns a change when its hash differs from the last one, or it
    /// matches a known-bad signature for the first time.
    public func fetched(_ id: String, content: [UInt8], now: Int64) -> [InventoryChange] {
        let hash = ScriptExtractor.inlineHash(content)
        let signature = KnownBadScripts.match(content)
        let changes: [InventoryChange] = records.withLock { all in
            guard var r = all[id] else { return [] }
            var out: [InventoryChange] = []
            let old = r.contentHash
            r.contentHash = hash
            if let old, old != hash { out.append(.changed(r, old: old)) }
            if let signature, r.flagged == nil {
                r.flagged = signature.name
                out.append(.knownBad(r, signature: signature.name, kind: signature.kind))
            }
            all[id] = r
            return out
        }
        save()
        return changes
    }

    /// Approves the listed scripts (or all, if `ids` is nil). Flagged scripts are approved only by id.
    /// Returns how many changed.
    public func approve(_ ids: [String]?) -> Int {
        let count = records.withLock { all -> Int in
            var n = 0
            for (id, var r) in all where (!r.approved || r.approvedHash != r.contentHash) && (ids?.contains(id) ?? (r.flagged == nil)) {
                r.approved = true
                r.approvedHash = r.contentHash
                all[id] = r
                n += 1
            }
            return n
        }
        if count > 0 { save() }
        return count
    }

    /// Writes the inventory soon (changes within a moment are written once).
    private func save() {
        guard file != nil else { return }
        let first = dirty.withLock { d -> Bool in
            defer { d = true }
            return !d
        }
        guard first else { return }
        writer.asyncAfter(deadline: .now() + .milliseconds(200)) { [self] in writeIfDirty() }
    }

    /// Runs on the writer queue.
    private func writeIfDirty() {
        guard let file, dirty.withLock({ d -> Bool in
            defer { d = false }
            return d
        }) else { return }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let directory = (file as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try encoder.encode(all).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            logger.error("cannot write the script inventory", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    /// Writes a pending change now.
    public func flush() { writer.sync { writeIfDirty() } }
}
