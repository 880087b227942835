import PnyxCore
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// The caching parts of the schema: the top-level `cache` bounds, and a site's `cache`, `health_check` and
/// `static_fallback`.
extension ConfigSchema {
    static let cacheSettingsKeys = ["memory", "max_object", "disk"]
    static let siteCacheKeys = ["default_ttl", "grace", "coalesce_wait", "stale_warning", "rules"]
    static let cacheRuleKeys = ["path", "action", "ttl", "stale_while_revalidate", "strip_cookies", "share_authorized", "ignore_query"]
    static let healthCheckKeys = ["path", "interval", "timeout", "fails", "passes"]

    /// `cache: { memory: 256MiB, max_object: 8MiB, disk: 1GiB | off }`.
    func cacheSettings(_ map: ConfigMap) -> CacheSettings {
        defer { map.finish(allowed: Self.cacheSettingsKeys) }
        var settings = CacheSettings()
        if let v = map.bytes("memory", range: (1 << 20)...(1 << 40)) { settings.memoryBytes = v }
        if let v = map.bytes("max_object", range: 1024...(1 << 30)) { settings.maxObjectBytes = v }
        if let node = map.value("disk"), case .scalar(let scalar) = node,
            ["off", "false", "no"].contains(scalar.string.lowercased())
        {
            settings.diskBytes = nil
        } else if let v = map.bytes("disk", range: (1 << 20)...(1 << 44)) {
            settings.diskBytes = v
            if v < settings.maxObjectBytes {
                diagnostics.error(
                    "disk must be at least max_object (\(settings.maxObjectBytes) bytes), or off", at: map.value("disk") ?? map.node,
                    key: "cache.disk")
            }
        }
        if settings.maxObjectBytes > settings.memoryBytes / 4 {
            diagnostics.error(
                "max_object must be at most a quarter of memory (\(settings.memoryBytes / 4) bytes)",
                at: map.value("max_object") ?? map.node, key: "cache.max_object")
        }
        return settings
    }

    /// A site's `cache: off` or `{ default_ttl, grace, coalesce_wait, stale_warning, rules: [...] }`.
    func siteCache(_ node: Node, path: String) -> CachePolicy {
        var policy = CachePolicy()
        let section = offOrMap(node, path: path, example: "{ grace: 1h, rules: [{ path: /results/**, ttl: 10s }] }")
        policy.enabled = section.enabled
        guard let map = section.map else { return policy }
        defer { map.finish(allowed: Self.siteCacheKeys) }
        if let v = boundedDuration(map, "default_ttl", path: path, ...Duration.seconds(365 * 86400)) { policy.defaultTTL = v }
        if let v = boundedDuration(map, "grace", path: path, ...Duration.seconds(30 * 86400)) { policy.grace = v }
        if let v = boundedDuration(map, "coalesce_wait", path: path, .milliseconds(10)...Duration.seconds(300)) {
            policy.coalesceWait = v
        }
        if let v = map.bool("stale_warning") { policy.staleWarning = v }
        if let rulesNode = map.value("rules") {
            guard case .sequence(let sequence) = rulesNode else {
                diagnostics.error("expected a list of rules such as - { path: /results/**, ttl: 10s }", at: rulesNode, key: "\(path).rules")
                return policy
            }
            for (index, item) in sequence.enumerated() {
                if let rule = cacheRule(item, path: "\(path).rules[\(index)]") { policy.rules.append(rule) }
            }
        }
        return policy
    }

    func cacheRule(_ node: Node, path: String) -> CacheRule? {
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return nil }
        defer { map.finish(allowed: Self.cacheRuleKeys) }
        guard let text = map.string("path") else {
            if !map.has("path") { diagnostics.error("missing 'path', e.g. /results/**", at: node, key: "\(path).path") }
            return nil
        }
        guard let pattern = PathPattern(text) else {
            diagnostics.error("expected a path pattern starting with '/', got '\(text)'", at: map.value("path"), key: "\(path).path")
            return nil
        }
        var rule = CacheRule(path: pattern)
        if let action = map.string("action") {
            switch action {
            case "cache": rule.action = .cache
            case "bypass": rule.action = .bypass
            default:
                diagnostics.error("expected cache or bypass, got '\(action)'", at: map.value("action"), key: "\(path).action")
            }
        }
        rule.ttl = boundedDuration(map, "ttl", path: path, .seconds(1)...Duration.seconds(365 * 86400))
        rule.staleWhileRevalidate = boundedDuration(map, "stale_while_revalidate", path: path, ...Duration.seconds(86400))
        if let v = map.bool("strip_cookies") { rule.stripCookies = v }
        if let v = map.bool("share_authorized") { rule.shareAuthorized = v }
        if let v = map.bool("ignore_query") { rule.ignoreQuery = v }
        if rule.action == .bypass, map.has("ttl") || map.has("stale_while_revalidate") {
            diagnostics.error("a bypass rule takes no ttl", at: map.value("ttl") ?? map.value("stale_while_revalidate"), key: "\(path).ttl")
        }
        return rule
    }

    /// A site's `health_check: off` or `{ path: /healthz, interval: 5s, timeout: 2s, fails: 2, passes: 2 }`.
    func healthCheck(_ node: Node, path: String) -> HealthCheckPolicy? {
        let section = offOrMap(node, path: path, example: "{ path: /healthz, interval: 5s }")
        guard section.enabled, let map = section.map else { return nil }
        defer { map.finish(allowed: Self.healthCheckKeys) }
        var policy = HealthCheckPolicy()
        if let p = map.string("path") {
            if p.hasPrefix("/") {
                policy.path = p
            } else {
                diagnostics.error("expected a path starting with '/', got '\(p)'", at: map.value("path"), key: "\(path).path")
            }
        }
        if let v = boundedDuration(map, "interval", path: path, .milliseconds(100)...Duration.seconds(3600)) { policy.interval = v }
        if let v = boundedDuration(map, "timeout", path: path, .milliseconds(10)...Duration.seconds(60)) { policy.timeout = v }
        if let v = map.int("fails", range: 1...100) { policy.fails = v }
        if let v = map.int("passes", range: 1...100) { policy.passes = v }
        return policy
    }

    /// `static_fallback: DIR` (relative to the configuration file): the directory must exist.
    func staticFallback(_ map: ConfigMap, path: String) -> String? {
        guard let text = map.string("static_fallback") else { return nil }
        let resolved = resolve(text)
        var info = stat()
        if stat(resolved, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
            diagnostics.error("'\(resolved)' is not a readable directory", at: map.value("static_fallback"), key: "\(path).static_fallback")
            return nil
        }
        return resolved
    }

    func boundedDuration(_ map: ConfigMap, _ key: String, path: String, _ range: some RangeExpression<Duration>) -> Duration? {
        guard let v = map.duration(key) else { return nil }
        guard range.contains(v) else {
            diagnostics.error("duration out of range", at: map.value(key), key: "\(path).\(key)")
            return nil
        }
        return v
    }
}
