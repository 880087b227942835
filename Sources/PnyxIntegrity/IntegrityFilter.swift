import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import PnyxCore

/// The integrity filter: compares origin responses of pinned paths with their approved baselines (serving the
/// approved version in protect mode), signs responses under signed paths and logs each new version, and serves
/// the public key and log under `/.well-known/pnyx/`.
///
/// On the data path it costs one atomic load and a dictionary read per origin response of a site with pins;
/// only pinned and signed responses are gathered whole (up to `integrity.max_body`).
public final class IntegrityFilter: Filter {
    public static let filterName: FilterName = "integrity"
    public var name: FilterName { Self.filterName }
    public var phases: PhaseSet { [.requestHead, .upstream, .originBody, .rewrite, .response] }

    public final class SiteEntry: Sendable {
        let site: String
        let policy: IntegrityPolicy
        let normaliser: PageNormaliser
        let baselines: BaselineStore
        let signer: SiteSigner?
        let stats: IntegrityStats.Counters
        /// The script inventory (nil when `scripts: off`).
        let scripts: ScriptWatch?
        let hosts: [String]
        /// This replica's copy of the report-only policy.
        let policyCache = PolicyCache()

        init(
            site: String, policy: IntegrityPolicy, baselines: BaselineStore, signer: SiteSigner?, stats: IntegrityStats.Counters,
            scripts: ScriptWatch? = nil, hosts: [String] = []
        ) {
            self.site = site
            self.policy = policy
            self.normaliser = PageNormaliser(policy.ignore)
            self.baselines = baselines
            self.signer = signer
            self.stats = stats
            self.scripts = scripts
            self.hosts = hosts
        }
    }

    let sites: SiteTable<SiteEntry>
    let clock: @Sendable () -> Int64

    /// Opens each site's baselines, and its key and log if it signs anything (file work: call off the event
    /// loops). Throws when a key cannot be read or made.
    public init(sites: [Site], state: IntegrityState, clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws {
        var signers: [String: SiteSigner] = [:]
        for site in sites {
            let name = site.name.rawValue
            if !site.configuration.integrity.signedPaths.isEmpty {
                do {
                    signers[name] = try state.signer(for: name)
                } catch {
                    throw IntegrityError(message: "site '\(name)': integrity signing key: \(error)")
                }
            } else if let existing = state.existingSigner(for: name) {
                // Signing was turned off: keep publishing the key and log of what was signed before.
                signers[name] = existing
            }
        }
        self.sites = SiteTable(sites) { site in
            let name = site.name.rawValue
            let policy = site.configuration.integrity
            return SiteEntry(
                site: name, policy: policy, baselines: state.baselines(for: name), signer: signers[name],
                stats: state.stats.counters(for: name), scripts: policy.scripts == .off ? nil : state.scripts(for: name),
                hosts: site.configuration.hosts)
        }
        self.clock = clock
    }

    public func requestHead(_ context: RequestContext) -> Verdict {
        let uri = context.uri
        guard uri.utf8.count >= 18, uri.hasPrefix("/.well-known/pnyx/"), let entry = sites[context.site] else { return .continue }
        context.outcome = .responded
        context.decidedBy = name
        if context.path == ScriptWatch.reportPath {
            guard let scripts = entry.scripts else { return .respond(WellKnown.error(.notFound, "this site keeps no script inventory")) }
            guard context.head.method == .POST else { return .respond(WellKnown.error(.methodNotAllowed, "POST a CSP report")) }
            return .consume(CSPReportConsumer(watch: scripts, hosts: entry.hosts, now: clock()))
        }
        return .respond(WellKnown.respond(context, entry: entry, now: clock()))
    }

    public func upstream(_ context: RequestContext, head: inout UpstreamRequestHead) {
        guard head.method == .GET, let entry = sites[context.site] else { return }
        if entry.policy.scripts == .enforce, context.head.headers.first(name: "accept")?.contains("text/html") == true {
            // A page whose script tags get the nonce must arrive as bytes Pnyx can rewrite.
            head.headers.remove(name: "accept-encoding")
            return
        }
        guard entry.isWatched(context) else { return }
        // Compared and signed bodies must be the bytes the page is made of, not a compressed form of them.
        head.headers.remove(name: "accept-encoding")
    }

    public func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? {
        // Pages are GETs: the answer to a POST is never compared, signed or scanned. (The proxy asks for any answer
        // with a body; a client's HEAD gets here only when it leads a cache fetch, which goes to the origin as a GET.)
        let method = context.head.method
        guard method == .GET || method == .HEAD, head.status == .ok, let entry = sites[context.site] else { return nil }
        let sign = entry.signer != nil && entry.policy.isSigned(context.path)
        var pinned: PinnedPage?
        var pinnedKey = ""
        if !entry.baselines.isEmpty {
            pinnedKey = context.uri
            pinned = entry.baselines.page(pinnedKey)
            if pinned == nil && pinnedKey.utf8.count != context.path.utf8.count {
                pinnedKey = String(context.path)
                pinned = entry.baselines.page(pinnedKey)
            }
        }
        var scan = false
        if let scripts = entry.scripts, let type = head.headers.first(name: "content-type"), BaselineStore.isHTML(type) {
            scan = scripts.sampler.shouldScan(context.path, version: ScanSampler.version(of: head), now: clock())
        }
        guard sign || pinned != nil || scan else { return nil }
        let path = String(context.path)
        if let encoding = head.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
            guard sign || pinned != nil else { return nil }  // a scan simply waits for an unencoded copy
            entry.stats.add(.unchecked)
            context.emit(
                filter: name, rule: "unchecked", action: .alert,
                evidence: "origin sent \(path) with Content-Encoding \(encoding) although Pnyx asked for none: served unchecked")
            return nil
        }
        return IntegrityCollector(entry: entry, pinned: pinned, pinnedKey: pinnedKey, sign: sign, scan: scan, path: path, now: clock())
    }

    /// With `scripts: enforce`, an HTML page gets an enforced policy that allows only approved scripts, and its
    /// approved script tags get this response's nonce (and own scripts their SRI value) as it streams. A signed
    /// page is not rewritten (its signature covers its bytes): its policy lists approved scripts by hash and URL.
    public func rewriteResponse(_ context: RequestContext, head: inout ResponseHead) -> (any ResponseRewriter)? {
        guard let entry = sites[context.site], entry.policy.scripts == .enforce, let scripts = entry.scripts,
            let type = head.headers.first(name: "content-type"), BaselineStore.isHTML(type)
        else { return nil }
        let set = scripts.enforcementSet
        // The page's own origin as the browser names it (with a port, if the Host header has one).
        let authority = context.head.headers.first(name: "host") ?? context.host
        let encoded = head.headers.first(name: "content-encoding").map { $0.lowercased() != "identity" } ?? false
        if encoded || head.headers.contains(name: "signature") {
            head.headers.replaceOrAdd(name: "content-security-policy", value: set.policy(nonce: nil, scheme: context.scheme, host: authority))
            return nil
        }
        let nonce = Self.makeNonce()
        head.headers.replaceOrAdd(name: "content-security-policy", value: set.policy(nonce: nonce, scheme: context.scheme, host: authority))
        return ScriptTagRewriter(nonce: nonce, set: set, scheme: context.scheme, host: context.host, path: String(context.path))
    }

    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeBytes(of: &words) { Data($0).base64EncodedString() }
    }

    /// HTML pages get the report-only script policy of the site's inventory (browsers report scripts it does not
    /// list to `/.well-known/pnyx/csp-report`); with `enforce`, the enforced one (``rewriteResponse``) instead.
    public func response(_ context: RequestContext, head: inout ResponseHead) {
        guard head.status == .ok, let entry = sites[context.site], let scripts = entry.scripts, entry.policy.scripts == .report,
            let type = head.headers.first(name: "content-type"), BaselineStore.isHTML(type)
        else { return }
        head.headers.add(name: "content-security-policy-report-only", value: scripts.reportOnlyPolicy(cachedIn: entry.policyCache))
    }
}

extension IntegrityFilter.SiteEntry {
    /// Whether the request's response will be compared or signed.
    func isWatched(_ context: RequestContext) -> Bool {
        if signer != nil && policy.isSigned(context.path) { return true }
        if baselines.isEmpty { return false }
        return baselines.page(context.uri) != nil || baselines.page(String(context.path)) != nil
    }
}

public struct IntegrityError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
