import PnyxCore
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The configuration file's shape: which keys exist where, their types, defaults and cross-checks.
struct ConfigSchema {
    let diagnostics: ConfigDiagnostics
    let baseDirectory: String

    static let topKeys = [
        "listen", "admin", "data_dir", "trusted_proxies", "access", "default_site", "limits", "access_log", "events",
        "sites", "workers", "bans", "geoip", "cache", "challenge", "waf", "alerts", "fleet",
    ]
    static let listenKeys = ["http", "https"]
    static let adminKeys = ["listen"]
    static let globalLimitKeys = [
        "max_header_bytes", "max_uri_bytes", "max_body_bytes", "header_read_timeout", "idle_timeout",
        "upstream_connect_timeout", "upstream_response_timeout", "shutdown_drain_timeout", "max_connections",
        "max_connections_per_ip", "min_body_rate", "min_send_rate", "slow_rate_grace", "http2", "max_cookies",
    ]
    static let siteKeys = [
        "name", "hosts", "aliases", "origins", "tls", "limits", "security_headers", "hsts", "access", "rate_limits",
        "critical_paths", "escalation", "cache", "health_check", "static_fallback", "challenge", "integrity", "waf", "status_page",
    ]
    static let siteLimitKeys = ["max_body_bytes", "upstream_connect_timeout", "upstream_response_timeout", "max_cookies"]
    static let tlsKeys = ["certificate", "key"]
    static let accessLogKeys = ["path"]
    static let eventKeys = ["queue_capacity"]

    func read(_ root: Node) -> PnyxConfiguration? {
        guard let top = ConfigMap(root, path: "", diagnostics: diagnostics) else { return nil }
        var config = PnyxConfiguration()

        if let listen = top.map("listen") {
            config.httpListeners = listenAddresses(listen, key: "http")
            config.httpsListeners = listenAddresses(listen, key: "https")
            listen.finish(allowed: Self.listenKeys)
        } else if !top.has("listen") {
            diagnostics.error(
                "missing 'listen': say where Pnyx accepts traffic, e.g. listen: { http: 0.0.0.0:80 }", at: root,
                key: "listen")
        }
        if config.httpListeners.isEmpty && config.httpsListeners.isEmpty && top.has("listen") {
            diagnostics.error("no listener: give listen.http or listen.https", at: top.value("listen"), key: "listen")
        }

        if let admin = top.map("admin") {
            if let node = admin.value("listen"),
                let text = ConfigMap.string(node, path: "admin.listen", diagnostics: diagnostics)
            {
                if text == "off" {
                    config.admin.listen = nil
                } else if let address = ListenAddress(parsing: text) {
                    config.admin.listen = address
                } else {
                    diagnostics.error("expected host:port or off, got '\(text)'", at: node, key: "admin.listen")
                }
            }
            admin.finish(allowed: Self.adminKeys)
        }

        if let dir = top.string("data_dir") { config.dataDirectory = resolve(dir) }
        if let node = top.value("workers"), let text = ConfigMap.string(node, path: "workers", diagnostics: diagnostics),
            text != "auto"
        {
            if let n = Int(text), (1...256).contains(n) {
                config.workers = n
            } else {
                diagnostics.error("expected auto or a number of threads from 1 to 256, got '\(text)'", at: node, key: "workers")
            }
        }

        if let proxies = top.stringList("trusted_proxies") {
            for (index, (text, node)) in proxies.enumerated() {
                if let cidr = CIDR(text) {
                    config.trustedProxies.append(cidr)
                } else {
                    diagnostics.error(
                        "expected an IP address or CIDR such as 10.0.0.0/8, got '\(text)'", at: node,
                        key: "trusted_proxies[\(index)]")
                }
            }
        }

        if let access = top.map("access") { config.access = accessRules(access) }
        if let node = top.value("bans") { config.bans = bans(node) }
        if let map = top.map("geoip") { config.geoipDatabase = geoip(map) }
        if let map = top.map("cache") { config.cache = cacheSettings(map) }
        if let map = top.map("challenge") {
            defer { map.finish(allowed: ["key_file"]) }
            if let file = map.string("key_file") {
                let resolved = resolve(file)
                if access(resolved, R_OK) != 0 {
                    diagnostics.error("cannot read '\(resolved)'", at: map.value("key_file"), key: "challenge.key_file")
                }
                config.challengeKeyFile = resolved
            }
        }

        if let limits = top.map("limits") {
            config.limits = globalLimits(limits)
            limits.finish(allowed: Self.globalLimitKeys)
        }

        if let log = top.map("access_log") {
            if let path = log.string("path") {
                switch path {
                case "off": config.accessLog.destination = .off
                case "stdout", "-": config.accessLog.destination = .standardOutput
                default: config.accessLog.destination = .file(resolve(path))
                }
            }
            log.finish(allowed: Self.accessLogKeys)
        }

        if let events = top.map("events") {
            if let capacity = events.int("queue_capacity", range: 1...10_000_000) {
                config.events.queueCapacity = capacity
            }
            events.finish(allowed: Self.eventKeys)
        }

        // Read before the sites: each site's `waf:` starts from it.
        if let node = top.value("waf") { config.waf = waf(node, path: "waf", base: WAFPolicy()) }
        if let sitesNode = top.value("sites") {
            if case .sequence(let sequence) = sitesNode {
                for (index, item) in sequence.enumerated() {
                    if let site = site(
                        item, path: "sites[\(index)]", defaults: config.limits.site,
                        hasCountryDatabase: top.has("geoip"), wafDefaults: config.waf) {
                        config.sites.append(site)
                    }
                }
                if sequence.isEmpty { diagnostics.error("at least one site is needed", at: sitesNode, key: "sites") }
            } else {
                diagnostics.error("expected a list of sites", at: sitesNode, key: "sites")
            }
        } else {
            diagnostics.error("missing 'sites': name at least one site with hosts and origins", at: root, key: "sites")
        }

        if let node = top.value("default_site"),
            let name = ConfigMap.string(node, path: "default_site", diagnostics: diagnostics)
        {
            if config.sites.contains(where: { $0.name.rawValue == name }) {
                config.defaultSite = SiteName(name)
            } else {
                diagnostics.error("no site is named '\(name)'", at: node, key: "default_site")
            }
        }

        if let map = top.map("alerts") {
            config.alerts = alerts(map, siteNames: Set(config.sites.map(\.name.rawValue)))
        }

        if let map = top.map("fleet") {
            config.fleet = fleet(map)
            // One name per node: alerts say where they came from with the fleet's node name unless told otherwise.
            if config.alerts.node == nil { config.alerts.node = config.fleet?.node }
        }

        if config.access.hasCountryRules && !top.has("geoip") {
            diagnostics.error(Self.needsDatabase, at: top.value("access"), key: "access")
        }
        top.finish(allowed: Self.topKeys)
        crossCheck(&config, sitesNode: top.value("sites"), root: root)
        return config
    }

    func listenAddresses(_ listen: ConfigMap, key: String) -> [ListenAddress] {
        guard let list = listen.stringList(key) else { return [] }
        var result: [ListenAddress] = []
        for (index, (text, node)) in list.enumerated() {
            if let address = ListenAddress(parsing: text) {
                result.append(address)
            } else {
                diagnostics.error(
                    "expected host:port such as 0.0.0.0:443, got '\(text)'", at: node, key: "listen.\(key)[\(index)]")
            }
        }
        return result
    }

    func globalLimits(_ map: ConfigMap) -> GlobalLimits {
        var limits = GlobalLimits()
        if let v = map.bytes("max_header_bytes", range: 1024...(1 << 20)) { limits.maxHeaderBytes = Int(v) }
        if let v = map.bytes("max_uri_bytes", range: 256...(1 << 20)) { limits.maxURIBytes = Int(v) }
        if let v = map.duration("header_read_timeout") { limits.headerReadTimeout = positive(v, map, "header_read_timeout") }
        if let v = map.duration("idle_timeout") { limits.idleTimeout = positive(v, map, "idle_timeout") }
        if let v = map.duration("shutdown_drain_timeout") { limits.shutdownDrainTimeout = v }
        if let v = map.int("max_connections", range: 1...10_000_000) { limits.maxConnections = v }
        if let v = map.int("max_connections_per_ip", range: 1...1_000_000) { limits.maxConnectionsPerIP = v }
        if let v = map.rate("min_body_rate") { limits.minBodyRate = v }
        if let v = map.rate("min_send_rate") { limits.minSendRate = v }
        if let v = map.duration("slow_rate_grace") { limits.slowRateGrace = positive(v, map, "slow_rate_grace") }
        if let h2 = map.map("http2") {
            limits.http2 = http2Limits(h2)
            h2.finish(allowed: Self.http2Keys)
        }
        limits.site = siteLimits(map, defaults: limits.site)
        return limits
    }

    func siteLimits(_ map: ConfigMap, defaults: SiteLimits) -> SiteLimits {
        var limits = defaults
        if let v = map.bytes("max_body_bytes", range: 0...(1 << 50)) { limits.maxBodyBytes = v }
        if let v = map.int("max_cookies", range: 1...100_000) { limits.maxCookies = v }
        if let v = map.duration("upstream_connect_timeout") {
            limits.upstreamConnectTimeout = positive(v, map, "upstream_connect_timeout")
        }
        if let v = map.duration("upstream_response_timeout") {
            limits.upstreamResponseTimeout = positive(v, map, "upstream_response_timeout")
        }
        return limits
    }

    func positive(_ value: Duration, _ map: ConfigMap, _ key: String) -> Duration {
        if value <= .zero { diagnostics.error("must be more than zero", at: map.value(key), key: map.childPath(key)) }
        return value
    }

    static let needsDatabase =
        "country rules need a country database: add geoip: { database: /path/to/GeoLite2-Country.mmdb }"

    func site(_ node: Node, path: String, defaults: SiteLimits, hasCountryDatabase: Bool, wafDefaults: WAFPolicy = WAFPolicy()) -> SiteConfiguration? {
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return nil }
        defer { map.finish(allowed: Self.siteKeys) }

        var name = ""
        if let n = map.string("name") {
            if Self.isValidName(n) {
                name = n
            } else {
                diagnostics.error(
                    "site names use a–z, 0–9, '-' and '_' (at most 64), got '\(n)'", at: map.value("name"),
                    key: "\(path).name")
            }
        } else {
            diagnostics.error("missing 'name'", at: node, key: "\(path).name")
        }

        var hosts: [String] = []
        for key in ["hosts", "aliases"] {
            guard let list = map.stringList(key) else { continue }
            for (index, (text, hostNode)) in list.enumerated() {
                let host = text.lowercased()
                if Self.isValidHostPattern(host) {
                    hosts.append(host)
                } else {
                    diagnostics.error(
                        "expected a host name such as vote.example.gov or *.example.gov (no scheme, no port), got '\(text)'",
                        at: hostNode, key: "\(path).\(key)[\(index)]")
                }
            }
        }
        if !map.has("hosts") { diagnostics.error("missing 'hosts'", at: node, key: "\(path).hosts") }

        var origins: [OriginAddress] = []
        if let list = map.stringList("origins") {
            for (index, (text, originNode)) in list.enumerated() {
                switch Self.parseOrigin(text) {
                case .success(let origin): origins.append(origin)
                case .failure(let message):
                    diagnostics.error(message.text, at: originNode, key: "\(path).origins[\(index)]")
                }
            }
            if list.isEmpty { diagnostics.error("at least one origin is needed", at: map.value("origins"), key: "\(path).origins") }
        } else {
            diagnostics.error("missing 'origins'", at: node, key: "\(path).origins")
        }

        var tls: TLSFiles?
        if let tlsMap = map.map("tls") {
            let certificate = tlsMap.string("certificate")
            let key = tlsMap.string("key")
            if certificate == nil { diagnostics.error("missing 'certificate'", at: tlsMap.node, key: "\(path).tls.certificate") }
            if key == nil { diagnostics.error("missing 'key'", at: tlsMap.node, key: "\(path).tls.key") }
            if let certificate, let key {
                let files = TLSFiles(certificatePath: resolve(certificate), keyPath: resolve(key))
                for (label, file) in [("certificate", files.certificatePath), ("key", files.keyPath)]
                where access(file, R_OK) != 0 {
                    diagnostics.error(
                        "cannot read \(label) file '\(file)'", at: tlsMap.value(label), key: "\(path).tls.\(label)")
                }
                tls = files
            }
            tlsMap.finish(allowed: Self.tlsKeys)
        }

        var limits = defaults
        if let limitsMap = map.map("limits") {
            limits = siteLimits(limitsMap, defaults: defaults)
            limitsMap.finish(allowed: Self.siteLimitKeys)
        }

        var hsts: Duration? = .seconds(180 * 86400)
        if let node = map.value("hsts"), let text = ConfigMap.string(node, path: "\(path).hsts", diagnostics: diagnostics) {
            if text == "off" || text == "false" {
                hsts = nil
            } else if let d = ConfigMap.parseDuration(text) {
                hsts = d
            } else {
                diagnostics.error("expected a duration such as 180d, or off", at: node, key: "\(path).hsts")
            }
        }

        var access = AccessRules()
        if let accessMap = map.map("access") {
            access = accessRules(accessMap)
            if access.hasCountryRules && !hasCountryDatabase {
                diagnostics.error(Self.needsDatabase, at: accessMap.node, key: "\(path).access")
            }
        }
        var rateLimits = [RateLimitRule.siteDefault]
        if let node = map.value("rate_limits") { rateLimits = self.rateLimits(node, path: "\(path).rate_limits") }

        var site = SiteConfiguration(
            name: SiteName(name), hosts: hosts, origins: origins, tls: tls, limits: limits,
            securityHeaders: map.bool("security_headers") ?? true, hstsMaxAge: hsts, access: access,
            rateLimits: rateLimits)
        if let list = map.stringList("critical_paths") {
            for (index, (text, item)) in list.enumerated() {
                if text.hasPrefix("/") {
                    site.criticalPaths.append(text)
                } else {
                    diagnostics.error(
                        "expected a path prefix starting with '/', got '\(text)'", at: item, key: "\(path).critical_paths[\(index)]")
                }
            }
        }
        if let node = map.value("escalation") { site.escalation = escalation(node, path: "\(path).escalation") }
        if let node = map.value("cache") { site.cache = siteCache(node, path: "\(path).cache") }
        if let node = map.value("health_check") { site.healthCheck = healthCheck(node, path: "\(path).health_check") }
        site.staticFallback = staticFallback(map, path: path)
        if let node = map.value("challenge") { site.challenge = siteChallenge(node, path: "\(path).challenge") }
        if let node = map.value("integrity") { site.integrity = siteIntegrity(node, path: "\(path).integrity") }
        site.waf = wafDefaults
        if let node = map.value("waf") { site.waf = waf(node, path: "\(path).waf", base: wafDefaults) }
        if let node = map.value("status_page") { site.statusPage = statusPage(node, path: "\(path).status_page") }
        return site
    }

    func crossCheck(_ config: inout PnyxConfiguration, sitesNode: Node?, root: Node) {
        let siteNodes: [Node] = {
            if case .sequence(let seq)? = sitesNode { return Array(seq) }
            return []
        }()
        var names: [String: Int] = [:]
        var hosts: [String: String] = [:]
        for (index, site) in config.sites.enumerated() {
            let node = index < siteNodes.count ? siteNodes[index] : root
            if let previous = names[site.name.rawValue], !site.name.rawValue.isEmpty {
                diagnostics.error(
                    "site name '\(site.name)' is already used by sites[\(previous)]", at: node, key: "sites[\(index)].name")
            }
            names[site.name.rawValue] = index
            for host in site.hosts {
                if let other = hosts[host] {
                    diagnostics.error(
                        "host '\(host)' is already served by site '\(other)'", at: node, key: "sites[\(index)].hosts")
                }
                hosts[host] = site.name.rawValue
            }
        }
        let tlsSites = config.sites.filter { $0.tls != nil }
        if !config.httpsListeners.isEmpty && tlsSites.isEmpty {
            diagnostics.error(
                "an HTTPS listener needs at least one site with tls: { certificate, key }", at: root, key: "listen.https")
        }
        if config.httpsListeners.isEmpty, let index = config.sites.firstIndex(where: { $0.tls != nil }) {
            let node = index < siteNodes.count ? siteNodes[index] : root
            diagnostics.error(
                "site has tls but there is no HTTPS listener (add listen.https)", at: node, key: "sites[\(index)].tls")
        }
    }

    // MARK: value parsing

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    static func isValidHostPattern(_ host: String) -> Bool {
        var h = Substring(host)
        if h.hasPrefix("*.") { h = h.dropFirst(2) }
        guard !h.isEmpty, h.utf8.count <= 253 else { return false }
        if IPAddress(h) != nil { return true }
        return h.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
        }
    }

    struct Message: Error { let text: String }

    static func parseOrigin(_ text: String) -> Result<OriginAddress, Message> {
        var rest = Substring(text)
        if rest.hasPrefix("https://") {
            return .failure(Message(text: "https:// origins are not supported yet; use http:// on a trusted network"))
        }
        guard rest.hasPrefix("http://") else {
            return .failure(Message(text: "expected an origin URL such as http://127.0.0.1:9000, got '\(text)'"))
        }
        rest = rest.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") || rest.contains("?") || rest.contains("@") {
            return .failure(Message(text: "an origin is scheme://host:port only (no path, query or user), got '\(text)'"))
        }
        var host: Substring
        var port = 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                return .failure(Message(text: "unclosed '[' in origin '\(text)'"))
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    return .failure(Message(text: "bad port in origin '\(text)'"))
                }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(Message(text: "bad port in origin '\(text)'"))
            }
            port = p
        } else {
            host = rest
        }
        guard !host.isEmpty, isValidHostPattern(String(host).lowercased()), !host.hasPrefix("*") else {
            return .failure(Message(text: "bad host in origin '\(text)'"))
        }
        return .success(OriginAddress(host: String(host).lowercased(), port: port))
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory == "." ? path : "\(baseDirectory)/\(path)")
    }
}
