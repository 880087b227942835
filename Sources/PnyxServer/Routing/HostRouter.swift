import PnyxCore

/// Maps a request's host name to its site: exact names first, then `*.example.gov` wildcards (longest first),
/// then the default site if one is configured. Built once per configuration snapshot.
struct HostRouter: Sendable {
    private let exact: [String: SiteRoute]
    private let wildcards: [(suffix: String, site: SiteRoute)]
    let defaultSite: SiteRoute?
    /// Every site's route, in configuration order.
    let routes: [SiteRoute]

    init(sites: [SiteRoute], defaultSite: SiteName?) {
        self.routes = sites
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

    func route(named name: String) -> SiteRoute? {
        routes.first { $0.site.name.rawValue == name }
    }

    /// The site for a normalized host (lower-case, no port), or nil for 421.
    func site(for host: String) -> SiteRoute? {
        if let site = exact[host] { return site }
        for (suffix, site) in wildcards where host.hasSuffix(suffix) && host.utf8.count > suffix.utf8.count {
            return site
        }
        return defaultSite
    }

    /// Lower-cases a `Host` header value and removes its port (and IPv6 brackets). Nil for values that are not a
    /// plain host name or address. One pass over the bytes; allocates only when the value must change.
    static func normalize(_ value: String) -> String? {
        let utf8 = value.utf8
        guard let first = utf8.first else { return nil }
        if first == UInt8(ascii: "[") {
            // [v6] or [v6]:port
            guard let close = value.firstIndex(of: "]") else { return nil }
            let inner = String(value[value.index(after: value.startIndex)..<close])
            guard IPAddress(inner) != nil else { return nil }
            let rest = value[value.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", rest.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            }
            return inner.lowercased()
        }
        var hostLength: Int?
        var needsLower = false
        var index = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                if hostLength != nil { return nil }
                needsLower = true
            case UInt8(ascii: ":"):
                if hostLength != nil { return nil }
                hostLength = index
            case 0...0x20, 0x7F...0xFF, UInt8(ascii: "/"), UInt8(ascii: "@"), UInt8(ascii: "\\"), UInt8(ascii: "?"),
                UInt8(ascii: "#"):
                return nil
            default:
                // After the colon only the port's digits may follow.
                if hostLength != nil && !(byte >= 48 && byte <= 57) { return nil }
            }
            index += 1
        }
        if hostLength == 0 { return nil }
        var host = hostLength.map { String(value.utf8.prefix($0))! } ?? value
        if needsLower { host = host.lowercased() }
        return host
    }
}
