import NIOHTTP1
import PnyxCore
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// The traffic-defense parts of the schema: `access` (global and per site) and a site's `rate_limits`.
extension ConfigSchema {
    static let accessKeys = ["allow", "deny", "allow_countries", "deny_countries"]
    static let geoipKeys = ["database"]
    static let rateLimitKeys = ["name", "match", "key", "requests", "period", "action", "timeout", "count"]
    static let matchKeys = ["path", "methods"]
    static let http2Keys = [
        "max_concurrent_streams", "max_stream_resets", "stream_reset_window", "max_continuation_frames",
        "max_control_frames", "control_frame_window", "max_glitches",
    ]

    /// `geoip: { database: PATH }` (relative to the configuration file).
    func geoip(_ map: ConfigMap) -> String? {
        defer { map.finish(allowed: Self.geoipKeys) }
        guard let path = map.string("database") else {
            if !map.has("database") {
                diagnostics.error("missing 'database': the path of a MaxMind-format .mmdb file", at: map.node, key: "geoip.database")
            }
            return nil
        }
        let resolved = resolve(path)
        if access(resolved, R_OK) != 0 {
            diagnostics.error("cannot read '\(resolved)'", at: map.value("database"), key: "geoip.database")
        }
        return resolved
    }

    static let escalationKeys = [
        "rate_factor", "min_rate", "blocked_share", "origin_error_share", "origin_latency", "raise_after", "relax_after",
    ]

    /// A section that is either `off` or a map of settings: the map to read (nil for `off` or an error, which is
    /// reported with `example`) and whether the section is on.
    func offOrMap(_ node: Node, path: String, example: String) -> (map: ConfigMap?, enabled: Bool) {
        if case .scalar(let scalar) = node {
            if ["off", "false", "no"].contains(scalar.string.lowercased()) { return (nil, false) }
            diagnostics.error("expected off or a map such as \(example)", at: node, key: path)
            return (nil, true)
        }
        return (ConfigMap(node, path: path, diagnostics: diagnostics), true)
    }

    /// A site's `escalation: off` or `{ rate_factor, min_rate, … }`.
    func escalation(_ node: Node, path: String) -> EscalationPolicy {
        var policy = EscalationPolicy()
        let section = offOrMap(node, path: path, example: "{ rate_factor: 5, min_rate: 50 }")
        policy.enabled = section.enabled
        guard let map = section.map else { return policy }
        defer { map.finish(allowed: Self.escalationKeys) }
        func number(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            guard let item = map.value(key), let text = ConfigMap.string(item, path: "\(path).\(key)", diagnostics: diagnostics) else {
                return nil
            }
            guard let value = Double(text), range.contains(value) else {
                diagnostics.error(
                    "expected a number from \(range.lowerBound) to \(range.upperBound), got '\(text)'", at: item, key: "\(path).\(key)")
                return nil
            }
            return value
        }
        if let v = number("rate_factor", 1.5...1000) { policy.rateFactor = v }
        if let v = number("min_rate", 1...10_000_000) { policy.minRate = v }
        if let v = number("blocked_share", 0.01...1) { policy.blockedShare = v }
        if let v = number("origin_error_share", 0.01...1) { policy.originErrorShare = v }
        if let v = map.duration("origin_latency") { policy.originLatency = positive(v, map, "origin_latency") }
        if let v = map.duration("raise_after") { policy.raiseAfter = positive(v, map, "raise_after") }
        if let v = map.duration("relax_after") { policy.relaxAfter = positive(v, map, "relax_after") }
        return policy
    }

    static let banKeys = ["after", "within", "duration", "statuses"]

    /// `bans: off`, or `{ after, within, duration, statuses }`.
    func bans(_ node: Node) -> BanPolicy {
        var policy = BanPolicy()
        let section = offOrMap(node, path: "bans", example: "{ after: 30, within: 1m, duration: 10m }")
        policy.enabled = section.enabled
        guard let map = section.map else { return policy }
        defer { map.finish(allowed: Self.banKeys) }
        if let v = map.int("after", range: 1...1_000_000) { policy.after = v }
        if let v = map.duration("within") {
            if v < .seconds(1) || v > .seconds(86400) {
                diagnostics.error("expected a duration from 1s to 1d", at: map.value("within"), key: "bans.within")
            } else {
                policy.within = v
            }
        }
        if let v = map.duration("duration") {
            if v < .seconds(1) || v > .seconds(30 * 86400) {
                diagnostics.error("expected a duration from 1s to 30d", at: map.value("duration"), key: "bans.duration")
            } else {
                policy.duration = v
            }
        }
        if let list = map.stringList("statuses") {
            for (text, item) in list {
                if let status = Int(text), (400...599).contains(status) {
                    policy.statuses.append(status)
                } else {
                    diagnostics.error("expected an HTTP error status from 400 to 599, got '\(text)'", at: item, key: "bans.statuses")
                }
            }
        }
        return policy
    }

    func http2Limits(_ map: ConfigMap) -> HTTP2Limits {
        var limits = HTTP2Limits()
        if let v = map.int("max_concurrent_streams", range: 1...10_000) { limits.maxConcurrentStreams = v }
        if let v = map.int("max_stream_resets", range: 1...1_000_000) { limits.maxStreamResets = v }
        if let v = map.duration("stream_reset_window") { limits.streamResetWindow = positive(v, map, "stream_reset_window") }
        if let v = map.int("max_continuation_frames", range: 1...1000) { limits.maxContinuationFrames = v }
        if let v = map.int("max_control_frames", range: 1...1_000_000) { limits.maxControlFrames = v }
        if let v = map.duration("control_frame_window") { limits.controlFrameWindow = positive(v, map, "control_frame_window") }
        if let v = map.int("max_glitches", range: 1...1_000_000) { limits.maxGlitches = v }
        return limits
    }

    func accessRules(_ map: ConfigMap) -> AccessRules {
        var rules = AccessRules()
        for key in ["allow", "deny"] {
            guard let list = map.stringList(key) else { continue }
            for (index, (text, node)) in list.enumerated() {
                guard let cidr = CIDR(text) else {
                    diagnostics.error(
                        "expected an IP address or CIDR such as 203.0.113.0/24 or 2001:db8::/32, got '\(text)'",
                        at: node, key: "\(map.path).\(key)[\(index)]")
                    continue
                }
                if key == "allow" { rules.allow.append(cidr) } else { rules.deny.append(cidr) }
            }
        }
        for key in ["allow_countries", "deny_countries"] {
            guard let list = map.stringList(key) else { continue }
            for (index, (text, node)) in list.enumerated() {
                guard let code = CountryCode(text), text.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
                    diagnostics.error(
                        "expected a two-letter ISO 3166 country code in capitals such as US or MX, got '\(text)'", at: node,
                        key: "\(map.path).\(key)[\(index)]")
                    continue
                }
                if key == "allow_countries" { rules.allowCountries.append(code) } else { rules.denyCountries.append(code) }
            }
        }
        map.finish(allowed: Self.accessKeys)
        return rules
    }

    /// `rate_limits:` a list of rules, `[]` for none, or absent for the safe default rule.
    func rateLimits(_ node: Node, path: String) -> [RateLimitRule] {
        guard case .sequence(let sequence) = node else {
            diagnostics.error("expected a list of rate-limit rules (or [] for none)", at: node, key: path)
            return []
        }
        var rules: [RateLimitRule] = []
        var names: Set<String> = []
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let map = ConfigMap(item, path: itemPath, diagnostics: diagnostics) else { continue }
            defer { map.finish(allowed: Self.rateLimitKeys) }
            let name = map.string("name") ?? "rule-\(index + 1)"
            if !names.insert(name).inserted {
                diagnostics.error("duplicate rule name '\(name)'", at: map.value("name"), key: "\(itemPath).name")
            }
            var rule = RateLimitRule(name: name, requests: 1, period: .seconds(1))
            if let match = map.map("match") {
                if let prefix = match.string("path") {
                    if prefix.hasPrefix("/") {
                        rule.pathPrefix = prefix
                    } else {
                        diagnostics.error(
                            "expected a path starting with '/', got '\(prefix)'", at: match.value("path"),
                            key: "\(itemPath).match.path")
                    }
                }
                if let methods = match.stringList("methods") {
                    for (text, methodNode) in methods {
                        let upper = text.uppercased()
                        if upper.isEmpty || !upper.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) {
                            diagnostics.error(
                                "expected an HTTP method such as GET or POST, got '\(text)'", at: methodNode,
                                key: "\(itemPath).match.methods")
                        } else {
                            rule.methods.append(HTTPMethod(rawValue: upper))
                        }
                    }
                }
                match.finish(allowed: Self.matchKeys)
            }
            if let keyText = map.string("key") {
                switch keyText {
                case "ip": rule.key = .ip
                case "ip_path": rule.key = .ipAndPath
                case "site": rule.key = .site
                default:
                    if keyText.hasPrefix("header:"), keyText.count > 7 {
                        rule.key = .header(String(keyText.dropFirst(7)).lowercased())
                    } else if keyText.hasPrefix("cookie:"), keyText.count > 7 {
                        rule.key = .cookie(String(keyText.dropFirst(7)))
                    } else {
                        diagnostics.error(
                            "expected ip, ip_path, site, header:NAME or cookie:NAME, got '\(keyText)'",
                            at: map.value("key"), key: "\(itemPath).key")
                    }
                }
            }
            if let requests = map.int("requests", range: 1...65535) {
                rule.requests = requests
            } else if !map.has("requests") {
                diagnostics.error("missing 'requests' (the budget per period)", at: item, key: "\(itemPath).requests")
            }
            if let period = map.duration("period") {
                if period < .seconds(1) || period > .seconds(86400) {
                    diagnostics.error("expected a period from 1s to 1d", at: map.value("period"), key: "\(itemPath).period")
                } else {
                    rule.period = period
                }
            } else if !map.has("period") {
                diagnostics.error("missing 'period' (e.g. 10s, 1m)", at: item, key: "\(itemPath).period")
            }
            if let action = map.string("action") {
                if let parsed = RateLimitRule.Action(rawValue: action) {
                    rule.action = parsed
                } else {
                    diagnostics.error("expected block, log or challenge, got '\(action)'", at: map.value("action"), key: "\(itemPath).action")
                }
            }
            if let timeout = map.duration("timeout") {
                if timeout < .zero || timeout > .seconds(7 * 86400) {
                    diagnostics.error("expected a duration from 0s to 7d", at: map.value("timeout"), key: "\(itemPath).timeout")
                } else {
                    rule.timeout = timeout
                }
            }
            if let count = map.string("count") {
                switch count {
                case "all": rule.countOriginOnly = false
                case "origin": rule.countOriginOnly = true
                default:
                    diagnostics.error(
                        "expected all (every matching request) or origin (only requests that reach the origin), got '\(count)'",
                        at: map.value("count"), key: "\(itemPath).count")
                }
            }
            rules.append(rule)
        }
        return rules
    }
}
