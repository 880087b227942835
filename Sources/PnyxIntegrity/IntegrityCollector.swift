import Foundation
import NIOCore
import PnyxCache
import PnyxCore

/// Gathers one origin response under a pinned or signed path, then compares it with the baseline (serving the
/// approved version in protect mode) and signs it. What it returns is what the client gets and the cache stores.
final class IntegrityCollector: ResponseCollector {
    let entry: IntegrityFilter.SiteEntry
    let pinned: PinnedPage?
    let sign: Bool
    /// Scan the page for scripts (the inventory).
    let scan: Bool
    /// The pinned key (target or path) and the signed path.
    let pinnedKey: String
    let path: String
    let now: Int64
    var limit: Int { entry.policy.maxBodyBytes }

    init(entry: IntegrityFilter.SiteEntry, pinned: PinnedPage?, pinnedKey: String, sign: Bool, scan: Bool = false, path: String, now: Int64) {
        self.entry = entry
        self.pinned = pinned
        self.pinnedKey = pinnedKey
        self.sign = sign
        self.scan = scan
        self.path = path
        self.now = now
    }

    func finish(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict {
        // One SHA-256 of the body as received; the page is only tokenised when it differs from the baseline.
        var digest = ContentDigest.sha256Base64(body)
        if let pinned, digest != pinned.baseline.digest {
            if compare(context, pinned: pinned, head: &head, body: &body, digest: digest) { digest = pinned.baseline.digest }
        } else if pinned != nil {
            entry.stats.add(.matched)
        }
        if sign, let signer = entry.signer {
            Self.sign(context, signer: signer, path: path, now: now, head: &head, digest: digest, entry: entry)
        }
        if scan, let scripts = entry.scripts {
            // The page as it will be served (the approved copy in protect mode).
            let found = ScriptExtractor.scripts(in: Array(body.readableBytesView), scheme: context.scheme, host: context.host, path: path)
            scripts.scanned(found, page: path, siteHosts: entry.hosts, context: context, now: now)
        }
        head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        return .continue
    }

    func overflowed(_ context: RequestContext, head: ResponseHead) {
        entry.stats.add(.unchecked)
        context.emit(
            filter: IntegrityFilter.filterName, rule: "unchecked", action: .alert,
            evidence: "response longer than integrity.max_body (\(entry.policy.maxBodyBytes) bytes): served unchecked and unsigned")
    }

    /// Compares a body whose bytes differ from the baseline's after taking out what `ignore` lists. Returns true
    /// when the approved copy was put in its place (protect).
    private func compare(_ context: RequestContext, pinned: PinnedPage, head: inout ResponseHead, body: inout ByteBuffer, digest: String) -> Bool {
        let contentType = head.headers.first(name: "content-type") ?? ""
        let bytes = Array(body.readableBytesView)
        let normalised = entry.normaliser.normalise(bytes, isHTML: BaselineStore.isHTML(contentType))
        let normalisedDigest = BaselineStore.digest(normalised)
        if normalisedDigest == pinned.baseline.normalisedDigest {
            entry.stats.add(.matched)
            return false
        }
        let isNew = entry.baselines.hold(
            path: pinnedKey, contentType: contentType, body: bytes, digest: digest, normalisedDigest: normalisedDigest, now: now)
        let mode = entry.policy.mode(for: context.path)
        let short = { (d: String) in String(d.prefix(12)) }
        if mode == .protect {
            entry.stats.add(.protected)
            body = pinned.body
            head.headers.replaceOrAdd(name: "content-type", value: pinned.baseline.contentType)
            // The origin's validators name the version that was not served.
            head.headers.remove(name: "etag")
            head.headers.remove(name: "last-modified")
            head.headers.replaceOrAdd(name: "pnyx-integrity", value: "protected")
            if isNew {
                context.emit(
                    filter: IntegrityFilter.filterName, rule: "protected", action: .block,
                    evidence: "origin changed \(pinnedKey) (\(short(digest)), \(normalised.count) bytes compared); approved version \(short(pinned.baseline.digest)) served; new version held for approval")
            }
            return true
        } else {
            entry.stats.add(.changed)
            head.headers.replaceOrAdd(name: "pnyx-integrity", value: "changed")
            if isNew {
                context.emit(
                    filter: IntegrityFilter.filterName, rule: "changed", action: .alert,
                    evidence: "origin changed \(pinnedKey) (\(short(digest))); differs from approved \(short(pinned.baseline.digest)); served (monitor mode)")
            }
            return false
        }
    }

    /// Adds `Content-Digest`, `Date`, `Signature-Input`, `Signature` and `Pnyx-Log-Index`, and logs the version.
    /// `digest` is the body's SHA-256, base64. A version signed less than ``SiteSigner/reuseSeconds`` ago gets the
    /// same signature again (one Ed25519 signature per version and minute, not per response).
    static func sign(
        _ context: RequestContext?, signer: SiteSigner, path: String, now: Int64, head: inout ResponseHead, digest: String,
        entry: IntegrityFilter.SiteEntry
    ) {
        let signed: SignedFields
        if let reused = signer.recent(path: path, digest: digest, now: now) {
            signed = reused
        } else {
            let contentDigest = "sha-256=:\(digest):"
            let date = HTTPDate.format(now)
            let (logEntry, isNew) = signer.log.record(path: path, digest: digest, time: now)
            let parameters = SignatureParameters(
                components: ["\"@path\";req", "\"content-digest\"", "\"date\""], created: now, keyID: signer.key.keyID,
                algorithm: "ed25519", tag: "pnyx")
            let components = SignatureComponents(path: path, fields: ["content-digest": contentDigest, "date": date])
            guard let base = try? components.signatureBase(parameters), let signature = try? signer.key.sign(base) else { return }
            signed = SignedFields(
                digest: digest, time: now, contentDigest: contentDigest, date: date, input: "pnyx=\(parameters.serialized)",
                signature: "pnyx=:\(Data(signature).base64EncodedString()):", logIndex: String(logEntry.index))
            signer.remember(path: path, signed)
            if isNew, let context {
                context.emit(
                    filter: IntegrityFilter.filterName, rule: "signed", action: .log,
                    evidence: "new version of \(path) signed and logged as entry \(logEntry.index) (sha-256 \(digest.prefix(12)))")
            }
        }
        head.headers.replaceOrAdd(name: "content-digest", value: signed.contentDigest)
        head.headers.replaceOrAdd(name: "date", value: signed.date)
        head.headers.replaceOrAdd(name: "signature-input", value: signed.input)
        head.headers.replaceOrAdd(name: "signature", value: signed.signature)
        head.headers.replaceOrAdd(name: "pnyx-log-index", value: signed.logIndex)
        entry.stats.add(.signed)
    }
}
