import PnyxCore

/// Maps a request's host name to its site: exact names first, then `*.example.gov` wildcards (longest first),
/// then the default site if one is configured. Built once per configuration snapshot.
struct HostRouter: Sendable {
    private let exact: [String: SiteRoute]
    private let wildcards: [(suffix: String, site: SiteRoute)]
    let defaultSite: SiteRoute?

    init(sites: [SiteRoute], defaultSite: SiteName?) {
        var exact: [String: SiteRoute] = [:]
        var wildcards: [(String, SiteRoute)] = []
        for site in sites {
            for host in site.site.configuration.hosts {
                if host.hasPrefix("*.") {
                    wildcards.append((String(host.dropFirst(1)), site))
                } else {
                    exact[host] = site
                }
            }
        }
        self.exact = exact
        self.wildcards = wildcards.sorted { $0.0.utf8.count > $1.0.utf8.count }
        self.defaultSite = defaultSite.flatMap { name in sites.first { $0.site.name == name } }
    }

    /// The site for a normalized host (lower-case, no port), or nil for 421.
    func site(for host: String) -> SiteRoute? {
        if let site = exact[host] { return site }
        for (suffix, site) in wildcards where host.hasSuffix(suffix) && host.utf8.count > suffix.utf8.count {
            return site
        }
        return defaultSite
    }

    /// Lower-cases a `Host` header value and removes its port (and IPv6 brackets are kept off).
    static func normalize(_ value: String) -> String? {
        var text = Substring(value).trimmingSpaces()
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if let colon = text.lastIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            guard port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            text = text[..<colon]
        }
        guard !text.isEmpty,
            text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") })
        else { return nil }
        var needsLower = false
        for byte in text.utf8 where byte >= 65 && byte <= 90 {
            needsLower = true
            break
        }
        return needsLower ? text.lowercased() : String(text)
    }
}
