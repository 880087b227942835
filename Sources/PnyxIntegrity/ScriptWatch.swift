import Atomics
import Foundation
import Logging
import NIOCore
import PnyxCore
import Synchronization

/// Fetches a script for the inventory: `site`, the script's absolute URL. Returns nil when it cannot (or may not).
public typealias ScriptFetcher = @Sendable (_ site: String, _ url: String) async -> [UInt8]?

/// Decides which origin responses are scanned for scripts: each path at most once a minute per node, and at once
/// when the page's validators or length changed (a swapped page is seen on its first response). A fixed table of
/// atomics indexed by the path's hash: no lock.
final class ScanSampler: Sendable {
    static let slots = 1024
    static let interval: Int64 = 60
    private let last: [ManagedAtomic<Int64>] = (0..<ScanSampler.slots).map { _ in ManagedAtomic(Int64.min / 2) }
    private let versions: [ManagedAtomic<Int>] = (0..<ScanSampler.slots).map { _ in ManagedAtomic(0) }

    /// - Parameter version: a hash of what the origin says about this copy (`ETag`, `Last-Modified`, length).
    func shouldScan(_ path: Substring, version: Int, now: Int64) -> Bool {
        var hasher = Hasher()
        hasher.combine(path)
        let index = (hasher.finalize() & Int.max) % Self.slots
        let previous = last[index].load(ordering: .relaxed)
        // Read before writing: every page view of a popular path lands on the same slot from every event loop, and
        // a write per request would make the cores take the cache line from each other.
        let changed = versions[index].load(ordering: .relaxed) != version
            && versions[index].exchange(version, ordering: .relaxed) != version
        guard changed || now - previous >= Self.interval else { return false }
        return last[index].compareExchange(expected: previous, desired: now, ordering: .relaxed).exchanged || changed
    }

    /// The body's length when the origin gives one (read without allocating); otherwise its validators.
    static func version(of head: ResponseHead) -> Int {
        if let length = head.headers.firstInteger(name: "content-length") { return length }
        var hasher = Hasher()
        hasher.combine(head.headers.first(name: "etag"))
        hasher.combine(head.headers.first(name: "last-modified"))
        return hasher.finalize()
    }
}

/// A site's script watch: its inventory, the report-only policy built from the approved scripts, scan sampling
/// and the bounded fetching of external scripts.
public final class ScriptWatch: Sendable {
    public let site: String
    public let inventory: ScriptInventory
    let sampler = ScanSampler()
    let events: any EventSink
    let fetcher: ScriptFetcher?
    private let fetching = ManagedAtomic(0)
    static let maxConcurrentFetches = 4
    static let refetchSeconds: Int64 = 600
    /// The approved scripts and the report-only policy, rebuilt when approvals change (one atomic load per page).
    private let enforcement: ManagedAtomic<EnforcementBox>
    /// Bumped after each new `enforcement`: page views read this number (no reference counting on the shared box)
    /// and fetch the policy again only when it moved.
    private let enforcementGeneration = ManagedAtomic(0)
    public static let reportPath = "/.well-known/pnyx/csp-report"

    init(site: String, inventory: ScriptInventory, events: any EventSink, fetcher: ScriptFetcher?) {
        self.site = site
        self.inventory = inventory
        self.events = events
        self.fetcher = fetcher
        self.enforcement = ManagedAtomic(EnforcementBox(EnforcementSet(inventory.all)))
    }

    public var enforcementSet: EnforcementSet { enforcement.load(ordering: .acquiring).set }


    /// The `Content-Security-Policy-Report-Only` value.
    public var reportOnlyPolicy: String { enforcement.load(ordering: .acquiring).reportOnly }

    /// The report-only policy through `cache`: one plain atomic load per page view while approvals stay the same.
    /// Each snapshot replica (one per event loop) keeps its own cache, so the cores never share the string.
    func reportOnlyPolicy(cachedIn cache: PolicyCache) -> String {
        let generation = enforcementGeneration.load(ordering: .acquiring)
        return cache.state.withLock { state in
            if state.generation != generation {
                // A copy with its own storage, not the shared box's string.
                state = (generation, String(decoding: Array(reportOnlyPolicy.utf8), as: UTF8.self))
            }
            return state.policy
        }
    }

    public func approve(_ ids: [String]?) -> Int {
        let n = inventory.approve(ids)
        enforcement.store(EnforcementBox(EnforcementSet(inventory.all)), ordering: .releasing)
        enforcementGeneration.wrappingIncrement(ordering: .releasing)
        return n
    }

    /// Records the scripts of a page Pnyx served, raises events for what is new, and fetches external scripts due.
    func scanned(_ scripts: [FoundScript], page: String, siteHosts: [String], context: RequestContext?, now: Int64) {
        let changes = inventory.observe(scripts, page: page, siteHosts: siteHosts, source: "html", now: now)
        for change in changes { emit(change, page: page, context: context, now: now) }
        let externals = scripts.filter { $0.kind == .external }.map(\.id)
        guard let fetcher, !externals.isEmpty else { return }
        let due = inventory.dueForFetch(among: externals, now: now, interval: Self.refetchSeconds, limit: Self.maxConcurrentFetches)
        for id in due {
            guard fetching.loadThenWrappingIncrement(ordering: .relaxed) < Self.maxConcurrentFetches else {
                fetching.wrappingDecrement(ordering: .relaxed)
                break
            }
            let site = self.site
            Task {
                defer { self.fetching.wrappingDecrement(ordering: .relaxed) }
                guard let content = await fetcher(site, id) else { return }
                let at = Int64(Date().timeIntervalSince1970)
                for change in self.inventory.fetched(id, content: content, now: at) { self.emit(change, page: page, context: nil, now: at) }
            }
        }
    }

    /// A browser's CSP violation report: the blocked script joins the inventory (source `csp-report`).
    func reported(blocked: String, document: String, sample: String?, siteHosts: [String], now: Int64) {
        let script: FoundScript
        if blocked == "inline" || blocked == "eval" || blocked.isEmpty {
            // An inline script the policy does not allow: only its sample (the first 40 characters) is known.
            guard let sample, !sample.isEmpty else { return }
            script = FoundScript(kind: .inline, url: nil, hash: "report-" + ScriptExtractor.inlineHash(Array(sample.utf8)).dropFirst(7), text: Array(sample.utf8))
        } else {
            guard blocked.hasPrefix("https://") || blocked.hasPrefix("http://") else { return }
            script = FoundScript(kind: .external, url: blocked, hash: nil, text: [])
        }
        let page = Self.pathOf(document)
        for change in inventory.observe([script], page: page, siteHosts: siteHosts, source: "csp-report", now: now) {
            emit(change, page: page, context: nil, now: now)
        }
    }

    static func pathOf(_ url: String, keepQuery: Bool = false) -> String {
        guard let range = url.range(of: "://") else { return url.isEmpty ? "-" : url }
        let rest = url[range.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        let path = rest[slash...].split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "/"
        if keepQuery { return String(path) }
        return String(path.split(separator: "?", maxSplits: 1).first ?? "/")
    }

    func emit(_ change: InventoryChange, page: String, context: RequestContext?, now: Int64) {
        let (rule, action, evidence): (String, SecurityEvent.Action, String)
        switch change {
        case .newScript(let r):
            (rule, action, evidence) = ("new_script", .alert, "new \(r.kind.rawValue) script \(r.id.prefix(160)) on \(page) (\(r.source))")
        case .newDomain(let host, let r):
            (rule, action, evidence) = ("new_domain", .alert, "first script from third-party host \(host): \(r.id.prefix(160))")
        case .changed(let r, let old):
            (rule, action, evidence) = ("script_changed", .alert, "content of \(r.id.prefix(160)) changed (\(old.prefix(19)) -> \(r.contentHash?.prefix(19) ?? "-"))")
        case .knownBad(let r, let signature, let kind):
            (rule, action, evidence) = ("known_bad_script", .alert, "\(kind) signature \(signature) matches \(r.id.prefix(160)) on \(page)")
        }
        if let context {
            context.emit(filter: IntegrityFilter.filterName, rule: rule, action: action, evidence: evidence)
        } else {
            events.emit(
                SecurityEvent(
                    timeMillis: now * 1000, site: site, client: "-", filter: IntegrityFilter.filterName.rawValue, rule: rule,
                    action: action, method: "-", path: page, evidence: evidence, requestID: "-"))
        }
    }
}

/// A replica's copy of a site's report-only policy (see ``ScriptWatch/reportOnlyPolicy(cachedIn:)``).
final class PolicyCache: Sendable {
    let state = Mutex<(generation: Int, policy: String)>((-1, ""))
}

final class EnforcementBox: AtomicReference, Sendable {
    let set: EnforcementSet
    let reportOnly: String
    init(_ set: EnforcementSet) {
        self.set = set
        self.reportOnly = set.reportOnlyPolicy
    }
}
