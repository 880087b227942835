import Foundation

/// A page or asset as the origin served it, for pinning.
public struct FetchedPage: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var contentEncoding: String?
    public init(status: Int, contentType: String, body: [UInt8], contentEncoding: String? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.contentEncoding = contentEncoding
    }
}

/// One path's result of `pnyx integrity pin`.
public struct PinOutcome: Sendable, Equatable {
    /// `pinned`, `failed` or `skipped`.
    public var path: String
    public var result: String
    public var detail: String
}

/// Pins paths of a site: fetches each from the origin and makes it the approved baseline, following the site's
/// own links (pages, scripts, stylesheets) to `depth` levels, at most `maxPages` in all.
public enum Pinner {
    public static func pin(
        paths: [String], depth: Int, hosts: [String], maxPages: Int = 200, store: BaselineStore, normaliser: PageNormaliser,
        by who: String, now: Int64, fetch: (String) async throws -> FetchedPage
    ) async -> [PinOutcome] {
        var outcomes: [PinOutcome] = []
        var seen = Set<String>()
        var frontier = paths
        for level in 0...max(0, depth) {
            var next: [String] = []
            for path in frontier where !seen.contains(path) {
                guard seen.count < maxPages else {
                    outcomes.append(PinOutcome(path: path, result: "skipped", detail: "more than \(maxPages) paths: stopped"))
                    continue
                }
                seen.insert(path)
                do {
                    let page = try await fetch(path)
                    guard page.status == 200 else {
                        outcomes.append(PinOutcome(path: path, result: "failed", detail: "the origin answered \(page.status)"))
                        continue
                    }
                    if let encoding = page.contentEncoding, encoding.lowercased() != "identity" {
                        outcomes.append(PinOutcome(path: path, result: "failed", detail: "the origin sent it encoded (\(encoding))"))
                        continue
                    }
                    let baseline = store.pin(path: path, contentType: page.contentType, body: page.body, normaliser: normaliser, by: who, now: now)
                    outcomes.append(
                        PinOutcome(path: path, result: "pinned", detail: "\(page.body.count) bytes, sha-256 \(baseline.digest.prefix(12))"))
                    if level < depth && BaselineStore.isHTML(page.contentType) {
                        next += links(in: page.body, base: path, hosts: hosts)
                    }
                } catch {
                    outcomes.append(PinOutcome(path: path, result: "failed", detail: "\(error)"))
                }
            }
            frontier = next
            if frontier.isEmpty { break }
        }
        return outcomes
    }

    /// The site's own pages, scripts and stylesheets a page links to, as paths (with their query), in order.
    public static func links(in body: [UInt8], base: String, hosts: [String]) -> [String] {
        var scanner = HTMLScanner(body)
        var out: [String] = []
        while let token = scanner.next() {
            guard case .startTag(let name, let attributes, _, _) = token else { continue }
            let attribute: String
            switch name {
            case "a", "link": attribute = "href"
            case "script": attribute = "src"
            default: continue
            }
            if name == "link" {
                let rel = attributes.first { $0.name == "rel" }?.value.lowercased() ?? ""
                guard rel.contains("stylesheet") || rel.contains("preload") || rel.contains("modulepreload") || rel.contains("icon") else { continue }
            }
            guard let value = attributes.first(where: { $0.name == attribute })?.value,
                let path = resolve(value, base: base, hosts: hosts), !out.contains(path)
            else { continue }
            out.append(path)
        }
        return out
    }

    /// `href` as a path of the site, or nil for another site, a fragment, or a non-HTTP scheme.
    static func resolve(_ href: String, base: String, hosts: [String]) -> String? {
        var link = href.trimmingCharacters(in: .whitespaces)
        if let hash = link.firstIndex(of: "#") { link = String(link[..<hash]) }
        if link.isEmpty { return nil }
        let lower = link.lowercased()
        for scheme in ["https://", "http://", "//"] where lower.hasPrefix(scheme) {
            let rest = link.dropFirst(scheme.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var host = rest[..<slash].lowercased()
            if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
            guard hosts.contains(where: { $0 == host || ($0.hasPrefix("*.") && host.hasSuffix($0.dropFirst())) }) else { return nil }
            return slash == rest.endIndex ? "/" : String(rest[slash...])
        }
        if lower.contains(":") && !lower.hasPrefix("/") {
            // mailto:, tel:, javascript:, data: … (a relative path with ':' before any '/' is one of them too).
            if let colon = lower.firstIndex(of: ":"), !lower[..<colon].contains("/") { return nil }
        }
        if link.hasPrefix("/") { return normalise(link) }
        let directory = base.split(separator: "?", maxSplits: 1)[0]
        let parent = directory.hasSuffix("/") ? String(directory) : String(directory[...(directory.lastIndex(of: "/") ?? directory.startIndex)])
        return normalise(parent + link)
    }

    /// Resolves `.` and `..` segments of an absolute path.
    static func normalise(_ path: String) -> String {
        let parts = path.split(separator: "?", maxSplits: 1)
        var segments: [Substring] = []
        for segment in parts[0].split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            if segment == "." { continue }
            if segment == ".." {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        let joined = "/" + segments.joined(separator: "/")
        return parts.count == 2 ? "\(joined)?\(parts[1])" : joined
    }
}
