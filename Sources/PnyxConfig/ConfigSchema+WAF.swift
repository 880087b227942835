import PnyxCore
import Yams

/// The WAF part of the schema: the global `waf:` section and a site's (which starts from the global one).
extension ConfigSchema {
    static let wafKeys = [
        "engine", "mode", "rules", "setup", "extra_rules", "paranoia_level", "inbound_threshold", "outbound_threshold",
        "exclusions", "inspect_body", "over_limit",
    ]
    static let exclusionKeys = ["rules", "tags", "path", "arguments"]

    /// `waf: { mode: block, paranoia_level: 1, inbound_threshold: 5, exclusions: [{ rules: [942100], path: /search, arguments: [q] }] }`.
    func waf(_ node: Node, path: String, base: WAFPolicy) -> WAFPolicy {
        var policy = base
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return policy }
        defer { map.finish(allowed: Self.wafKeys) }
        if let text = map.string("engine") {
            if let engine = WAFPolicy.Engine(rawValue: text.lowercased()) {
                policy.engine = engine
            } else {
                diagnostics.error("expected both, crs, native or off, got '\(text)'", at: map.value("engine"), key: "\(path).engine")
            }
        }
        if let text = map.string("mode") {
            if let mode = WAFPolicy.Mode(rawValue: text.lowercased()) {
                policy.mode = mode
            } else {
                diagnostics.error("expected block or detect, got '\(text)'", at: map.value("mode"), key: "\(path).mode")
            }
        }
        if let text = map.string("over_limit") {
            if let choice = WAFPolicy.OverLimit(rawValue: text.lowercased()) {
                policy.overLimit = choice
            } else {
                diagnostics.error("expected reject or pass, got '\(text)'", at: map.value("over_limit"), key: "\(path).over_limit")
            }
        }
        if let directory = map.string("rules") { policy.rulesDirectory = resolve(directory) }
        if let file = map.string("setup") { policy.setupFile = resolve(file) }
        if let list = map.stringList("extra_rules") { policy.extraRules = list.map { resolve($0.0) } }
        if let level = map.int("paranoia_level", range: 1...4) { policy.paranoiaLevel = level }
        if let value = map.int("inbound_threshold", range: 1...10_000) { policy.inboundThreshold = value }
        if let value = map.int("outbound_threshold", range: 1...10_000) { policy.outboundThreshold = value }
        if let bytes = map.bytes("inspect_body", range: 1024...(64 * 1024 * 1024)) { policy.inspectBodyBytes = Int(bytes) }
        if let list = map.value("exclusions") {
            guard case .sequence(let sequence) = list else {
                diagnostics.error("expected a list such as - { rules: [942100], path: /search, arguments: [q] }", at: list, key: "\(path).exclusions")
                return policy
            }
            policy.exclusions = []
            for (index, item) in sequence.enumerated() {
                if let exclusion = wafExclusion(item, path: "\(path).exclusions[\(index)]") { policy.exclusions.append(exclusion) }
            }
        }
        return policy
    }

    func wafExclusion(_ node: Node, path: String) -> WAFPolicy.Exclusion? {
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return nil }
        defer { map.finish(allowed: Self.exclusionKeys) }
        var exclusion = WAFPolicy.Exclusion()
        for (text, item) in map.stringList("rules") ?? [] {
            let bounds = text.split(separator: "-").map { Int(String($0).filter { $0 != " " }) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low > 0, low <= high else {
                diagnostics.error("expected a rule id such as 942100 or a range such as 942100-942199, got '\(text)'", at: item, key: "\(path).rules")
                continue
            }
            exclusion.ruleIDs.append(low...high)
        }
        exclusion.tags = (map.stringList("tags") ?? []).map(\.0)
        if let prefix = map.string("path") {
            if prefix.hasPrefix("/") {
                exclusion.pathPrefix = prefix
            } else {
                diagnostics.error("expected a path prefix starting with '/', got '\(prefix)'", at: map.value("path"), key: "\(path).path")
            }
        }
        exclusion.arguments = (map.stringList("arguments") ?? []).map(\.0)
        for argument in exclusion.arguments where argument.contains(where: { $0 == "|" || $0 == "\"" || $0 == "," || $0 == ";" }) {
            diagnostics.error("argument names cannot contain | \" , or ;: '\(argument)'", at: map.value("arguments"), key: "\(path).arguments")
        }
        if exclusion.ruleIDs.isEmpty && exclusion.tags.isEmpty {
            diagnostics.error("an exclusion names rules (ids) or tags", at: node, key: path)
            return nil
        }
        return exclusion
    }
}
