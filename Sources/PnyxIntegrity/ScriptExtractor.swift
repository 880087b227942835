import Crypto
import Foundation

/// A script a page loads: an external URL (absolute) or an inline body (by its hash).
public struct FoundScript: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case external, inline }
    public var kind: Kind
    /// Absolute URL of an external script.
    public var url: String?
    /// `sha256-<base64>` of an inline script's text (the CSP hash form).
    public var hash: String?
    /// An inline script's text, kept only to match signatures (not stored).
    public var text: [UInt8]

    /// The inventory key.
    public var id: String { kind == .external ? url ?? "" : "inline:\(hash ?? "")" }
}

/// Finds the scripts of an HTML page: `<script src>`, inline `<script>` bodies, and
/// `<link rel=modulepreload|preload as=script href>`.
public enum ScriptExtractor {
    /// - Parameters: `scheme` and `host` of the page (to make relative URLs absolute), and its `path`.
    public static func scripts(in html: [UInt8], scheme: String, host: String, path: String) -> [FoundScript] {
        var scanner = HTMLScanner(html)
        var found: [FoundScript] = []
        var inlineStart: Int?
        var inlineIsScript = false
        while let token = scanner.next() {
            switch token {
            case .startTag(let name, let attributes, _, _):
                func value(_ n: String) -> String? { attributes.first { $0.name == n }?.value }
                if name == "script" {
                    let type = value("type")?.lowercased() ?? ""
                    // Data blocks (JSON, templates) are not scripts.
                    inlineIsScript = type.isEmpty || type.contains("javascript") || type == "module"
                    if let src = value("src"), let url = absolute(src, scheme: scheme, host: host, path: path) {
                        found.append(FoundScript(kind: .external, url: url, hash: nil, text: []))
                        inlineStart = nil
                    } else {
                        inlineStart = inlineIsScript ? -1 : nil
                    }
                } else if name == "link" {
                    let rel = value("rel")?.lowercased() ?? ""
                    let isScript = rel.contains("modulepreload") || (rel.contains("preload") && value("as")?.lowercased() == "script")
                    if isScript, let href = value("href"), let url = absolute(href, scheme: scheme, host: host, path: path) {
                        found.append(FoundScript(kind: .external, url: url, hash: nil, text: []))
                    }
                }
            case .text(let range):
                if inlineStart == -1 {
                    let text = Array(html[range])
                    found.append(FoundScript(kind: .inline, url: nil, hash: inlineHash(text), text: text))
                    inlineStart = nil
                }
            case .endTag(let name, _):
                if name == "script" { inlineStart = nil }
            case .comment:
                continue
            }
        }
        return found
    }

    /// The CSP hash source of an inline script's text: `sha256-<base64>`.
    public static func inlineHash<C: Collection>(_ text: C) -> String where C.Element == UInt8 {
        "sha256-" + Data(SHA256.hash(data: Array(text))).base64EncodedString()
    }

    /// `reference` made absolute against the page, or nil for a non-HTTP scheme.
    public static func absolute(_ reference: String, scheme: String, host: String, path: String) -> String? {
        let ref = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = ref.lowercased()
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") { return ref }
        if ref.hasPrefix("//") { return "\(scheme):\(ref)" }
        if let colon = lower.firstIndex(of: ":"), !lower[..<colon].contains("/") { return nil }  // data:, javascript:, blob:
        if ref.hasPrefix("/") { return "\(scheme)://\(host)\(ref)" }
        let resolved = Pinner.resolve(ref, base: path, hosts: [host]) ?? "/"
        return "\(scheme)://\(host)\(resolved)"
    }

    /// The host of an absolute URL, lower-case.
    public static func host(of url: String) -> String? {
        guard let range = url.range(of: "://") else { return nil }
        let rest = url[range.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var host = rest[..<end].lowercased()
        if let at = host.lastIndex(of: "@") { host = String(host[host.index(after: at)...]) }
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
        return host.isEmpty ? nil : host
    }
}
