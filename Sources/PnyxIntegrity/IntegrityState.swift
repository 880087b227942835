import Logging
import PnyxCore
import Synchronization

/// A site's signing key and public log.
public final class SiteSigner: Sendable {
    public let key: SiteSigningKey
    public let log: TransparencyLog
    /// The fields last signed for each path: the same version within this many seconds is not signed again.
    static let reuseSeconds: Int64 = 60
    private let signed = Mutex<[String: SignedFields]>([:])

    init(key: SiteSigningKey, log: TransparencyLog) {
        self.key = key
        self.log = log
    }

    func recent(path: String, digest: String, now: Int64) -> SignedFields? {
        signed.withLock { all in
            guard let fields = all[path], fields.digest == digest, now - fields.time < Self.reuseSeconds, now >= fields.time else { return nil }
            return fields
        }
    }

    func remember(path: String, _ fields: SignedFields) {
        signed.withLock { all in
            // Bounded: a site with very many signed paths keeps the most recent ones.
            if all.count >= 4096 { all.removeAll(keepingCapacity: true) }
            all[path] = fields
        }
    }
}

/// The header values of one signature of one version.
struct SignedFields: Sendable {
    var digest: String
    var time: Int64
    var contentDigest: String
    var date: String
    var input: String
    var signature: String
    var logIndex: String
}

/// Integrity state that outlives reloads: per site (by name) its baselines, and its signing key and log once it
/// signs anything. Made once at start-up; reloads look sites up here (file work happens in the reload task, never
/// on an event loop).
public final class IntegrityState: Sendable {
    /// `<data_dir>/integrity` (nil: memory only, for tests and tools).
    public let directory: String?
    let logger: Logger
    private let baselines = Mutex<[String: BaselineStore]>([:])
    private let signers = Mutex<[String: SiteSigner]>([:])
    private let watches = Mutex<[String: ScriptWatch]>([:])
    /// Per-site counters for metrics.
    public let stats = IntegrityStats()
    /// Where script-inventory events found off the request path go.
    let events: any EventSink
    let fetcher: ScriptFetcher?

    public init(
        directory: String?, events: any EventSink = DiscardingEventSink(), fetcher: ScriptFetcher? = nil,
        logger: Logger = Logger(label: "pnyx.integrity")
    ) {
        self.directory = directory
        self.events = events
        self.fetcher = fetcher
        self.logger = logger
    }

    /// The site's script watch (inventory loaded on first use).
    public func scripts(for site: String) -> ScriptWatch {
        if let watch = watches.withLock({ $0[site] }) { return watch }
        let inventory = ScriptInventory(file: siteDirectory(site).map { "\($0)/scripts.json" }, logger: logger)
        let watch = ScriptWatch(site: site, inventory: inventory, events: events, fetcher: fetcher)
        return watches.withLock { all in
            if let existing = all[site] { return existing }
            all[site] = watch
            return watch
        }
    }

    func siteDirectory(_ site: String) -> String? {
        directory.map { "\($0)/\(Self.safeName(site))" }
    }

    /// Site names are config identifiers; anything else is replaced so a name can never leave the directory.
    static func safeName(_ site: String) -> String {
        String(site.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
            .replacingOccurrences(of: "..", with: "__")
    }

    public func baselines(for site: String) -> BaselineStore {
        if let store = baselines.withLock({ $0[site] }) { return store }
        let store = BaselineStore(directory: siteDirectory(site), logger: logger)
        return baselines.withLock { stores in
            if let existing = stores[site] { return existing }
            stores[site] = store
            return store
        }
    }

    /// The site's signer, made (key generated, log opened) on first use.
    public func signer(for site: String) throws -> SiteSigner {
        if let signer = signers.withLock({ $0[site] }) { return signer }
        let directory = siteDirectory(site)
        let key: SiteSigningKey
        if let directory {
            key = try SiteSigningKey.loadOrCreate(path: "\(directory)/signing.key")
        } else {
            key = SiteSigningKey(privateKey: .init())
        }
        let log = TransparencyLog(site: site, key: key, file: directory.map { "\($0)/log.jsonl" }, logger: logger)
        let signer = SiteSigner(key: key, log: log)
        return signers.withLock { all in
            if let existing = all[site] { return existing }
            all[site] = signer
            return signer
        }
    }

    /// The signer of `site` if it has one already (no key is made).
    public func existingSigner(for site: String) -> SiteSigner? {
        signers.withLock { $0[site] }
    }

    /// Waits for queued file writes.
    public func flush() {
        for store in baselines.withLock({ Array($0.values) }) { store.flush() }
        for signer in signers.withLock({ Array($0.values) }) { signer.log.flush() }
        for watch in watches.withLock({ Array($0.values) }) { watch.inventory.flush() }
    }
}
