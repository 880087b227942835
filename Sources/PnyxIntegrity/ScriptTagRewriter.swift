import NIOCore
#if canImport(Glibc)
import Glibc
#endif
import PnyxCore

/// The approved scripts of a site, as the enforcing rewriter and policy read them (rebuilt on approval).
public final class EnforcementSet: Sendable {
    /// Approved inline scripts, `sha256-…`.
    let inlineHashes: Set<String>
    /// Approved third-party script URLs, with the SRI value to add (nil: none known).
    let thirdParty: [String: String?]
    /// Approved scripts of the site itself by path (any of its hosts), with their SRI value.
    let ownPaths: [String: String?]

    init(_ records: [ScriptRecord]) {
        var inline = Set<String>()
        var third: [String: String?] = [:]
        var own: [String: String?] = [:]
        for r in records where r.approved && r.flagged == nil {
            switch r.kind {
            case .inline:
                if let hash = r.contentHash, r.id.hasPrefix("inline:sha256-") { inline.insert(hash) }
            case .external:
                if r.thirdParty {
                    third[r.id] = .some(nil)
                } else {
                    own[ScriptWatch.pathOf(r.id, keepQuery: true)] = r.approvedHash
                }
            }
        }
        self.inlineHashes = inline
        self.thirdParty = third
        self.ownPaths = own
        self.fixedSources = (inline.sorted().map { "'\($0)'" } + third.keys.sorted().map(Self.sourceSafe)).joined(separator: " ")
        self.ownSources = own.keys.sorted().map(Self.sourceSafe)
        // Report-only: 'self' plus every approved script outside it; browsers report the rest.
        let reported = (["'self'"] + (fixedSources.isEmpty ? [] : [fixedSources])).joined(separator: " ")
        self.reportOnlyPolicy = "script-src \(reported); report-uri \(ScriptWatch.reportPath)"
    }

    /// `script-src 'self'` plus the approved inline hashes and third-party URLs, reported to Pnyx.
    let reportOnlyPolicy: String

    /// Hashes and third-party URLs, ready to use; own scripts' paths, made safe (the host is the page's).
    let fixedSources: String
    let ownSources: [String]

    /// The enforced policy for a page served as `scheme://host`.
    func policy(nonce: String?, scheme: String, host: String) -> String {
        var sources = ""
        if let nonce { sources = "'nonce-\(nonce)'" }
        if !fixedSources.isEmpty { sources += sources.isEmpty ? fixedSources : " " + fixedSources }
        for path in ownSources { sources += (sources.isEmpty ? "" : " ") + scheme + "://" + host + path }
        if sources.isEmpty { sources = "'none'" }
        return "script-src \(sources); object-src 'none'; base-uri 'self'; report-uri \(ScriptWatch.reportPath)"
    }

    static func sourceSafe(_ url: String) -> String {
        url.replacingOccurrences(of: ";", with: "%3B").replacingOccurrences(of: ",", with: "%2C").replacingOccurrences(of: " ", with: "%20")
    }
}

/// Streams an HTML page to the client, putting the response's nonce on every approved script tag (inline scripts
/// by the hash of their text, external ones by URL) and `integrity` on the site's own approved scripts. Holds back
/// at most an incomplete tag or one inline script (up to ``maxHeld`` bytes; beyond, the rest passes unchanged and
/// unapproved scripts stay blocked by the policy).
public final class ScriptTagRewriter: ResponseRewriter {
    static let maxHeld = 256 * 1024
    let nonce: String
    let set: EnforcementSet
    let scheme: String
    let host: String
    let path: String
    private var held: [UInt8] = []
    private var passthrough = false
    /// Approved script tags that got the nonce (for tests and metrics).
    public private(set) var tagged = 0

    init(nonce: String, set: EnforcementSet, scheme: String, host: String, path: String) {
        self.nonce = nonce
        self.set = set
        self.scheme = scheme
        self.host = host
        self.path = path
    }

    public func rewrite(_ chunk: ByteBuffer) -> ByteBuffer {
        if passthrough && held.isEmpty { return chunk }
        held += chunk.readableBytesView
        var out = ByteBuffer()
        let consumed = process(final: false, into: &out)
        held.removeFirst(consumed)
        if held.count > Self.maxHeld {
            // Something never ends (a huge inline script, an unclosed tag): give up rewriting.
            out.writeBytes(held)
            held.removeAll()
            passthrough = true
        }
        return out
    }

    public func finish() -> ByteBuffer {
        var out = ByteBuffer()
        if !passthrough {
            let consumed = process(final: true, into: &out)
            held.removeFirst(consumed)
        }
        out.writeBytes(held)
        held.removeAll()
        return out
    }

    /// Writes what can be decided from `held`; returns how many bytes of it were written.
    private func process(final: Bool, into out: inout ByteBuffer) -> Int {
        var i = 0
        var written = 0
        let bytes = held
        let commentOpen = Self.commentOpen
        let commentClose = Self.commentClose
        while i < bytes.count {
            // The next '<' (memchr: most of a page is text and tags that are not scripts).
            let next = bytes.withUnsafeBufferPointer { buffer -> Int in
                guard let base = buffer.baseAddress, let found = memchr(base + i, Int32(UInt8(ascii: "<")), buffer.count - i) else { return buffer.count }
                return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            }
            i = next
            guard i < bytes.count else { break }
            if !final && bytes.count - i < 8 { break }  // maybe "<script" or "<!--": wait for more
            // Comments pass whole (a script inside one is not a script).
            if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "!"), HTMLScanner.hasPrefix(commentOpen, bytes, at: i) {
                guard let end = HTMLScanner.find(commentClose, in: bytes, from: i + 4) else { break }
                i = end + 3
                continue
            }
            guard isScriptTag(bytes, at: i) else {
                i += 1
                continue
            }
            guard let tagEnd = Self.tagEnd(bytes, from: i + 7) else { break }  // the tag is not complete yet
            var scanner = HTMLScanner(Array(bytes[i..<tagEnd]))
            guard case .startTag(_, let attributes, _, _)? = scanner.next() else {
                i = tagEnd
                continue
            }
            guard let closing = HTMLScanner.find(closingTag: "script", in: bytes, from: tagEnd) else {
                if final { break }
                // Wait for the script's end (bounded by maxHeld in rewrite).
                break
            }
            func value(_ n: String) -> String? { attributes.first { $0.name == n }?.value }
            var extra = ""
            if value("nonce") == nil {
                if let src = value("src") {
                    if let url = ScriptExtractor.absolute(src, scheme: scheme, host: host, path: path), let sri = approval(of: url) {
                        extra = " nonce=\"\(nonce)\""
                        if let sri, value("integrity") == nil { extra += " integrity=\"\(sri)\"" }
                    }
                } else {
                    let type = value("type")?.lowercased() ?? ""
                    let isScript = type.isEmpty || type.contains("javascript") || type == "module"
                    if isScript && set.inlineHashes.contains(ScriptExtractor.inlineHash(bytes[tagEnd..<closing])) {
                        extra = " nonce=\"\(nonce)\""
                    }
                }
            }
            if !extra.isEmpty {
                // Insert before the tag's closing '>' (or "/>").
                var insertAt = tagEnd - 1
                if insertAt > i, bytes[insertAt - 1] == UInt8(ascii: "/") { insertAt -= 1 }
                out.writeBytes(bytes[written..<insertAt])
                out.writeString(extra)
                written = insertAt
                tagged += 1
            }
            i = closing
        }
        // Everything before an undecided '<' can go.
        let upTo = final ? bytes.count : min(i, bytes.count)
        if upTo > written { out.writeBytes(bytes[written..<upTo]) }
        return max(upTo, written)
    }

    /// nil: not approved; .some(sri): approved (with the SRI value to add, if any).
    private func approval(of url: String) -> String?? {
        if let sri = set.thirdParty[url] { return .some(sri) }
        guard let h = ScriptExtractor.host(of: url), h == host else { return nil }
        let path = ScriptWatch.pathOf(url, keepQuery: true)
        if let sri = set.ownPaths[path] { return .some(sri) }
        return nil
    }

    static let commentOpen = Array("<!--".utf8)
    static let commentClose = Array("-->".utf8)

    private func isScriptTag(_ bytes: [UInt8], at i: Int) -> Bool {
        guard i + 7 < bytes.count, bytes[i + 1] | 0x20 == UInt8(ascii: "s") else { return false }
        guard bytes[i + 2] | 0x20 == UInt8(ascii: "c"), bytes[i + 3] | 0x20 == UInt8(ascii: "r"), bytes[i + 4] | 0x20 == UInt8(ascii: "i"),
            bytes[i + 5] | 0x20 == UInt8(ascii: "p"), bytes[i + 6] | 0x20 == UInt8(ascii: "t")
        else { return false }
        let after = bytes[i + 7]
        return HTMLScanner.isSpace(after) || after == UInt8(ascii: ">") || after == UInt8(ascii: "/")
    }

    /// The index just past the '>' that ends a tag begun before `from`, skipping quoted attribute values.
    static func tagEnd(_ bytes: [UInt8], from: Int) -> Int? {
        var quote: UInt8?
        var i = from
        while i < bytes.count {
            let b = bytes[i]
            if let q = quote {
                if b == q { quote = nil }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: ">") {
                return i + 1
            }
            i += 1
        }
        return nil
    }
}
