import PnyxCore
import Yams

/// The integrity part of the schema: a site's `integrity` section.
extension ConfigSchema {
    static let integrityKeys = ["signed_paths", "mode", "protect", "monitor", "ignore", "max_body", "scripts"]
    static let ignoreKeys = ["selector", "between", "builtin"]

    /// `integrity: { signed_paths: ["/results/**"], mode: monitor, protect: [...], ignore: [...], max_body: 4MiB }`.
    func siteIntegrity(_ node: Node, path: String) -> IntegrityPolicy {
        var policy = IntegrityPolicy()
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return policy }
        defer { map.finish(allowed: Self.integrityKeys) }
        policy.signedPaths = patterns(map, "signed_paths", path: path)
        if let text = map.string("mode") {
            if let mode = IntegrityPolicy.Mode(rawValue: text) {
                policy.mode = mode
            } else {
                diagnostics.error("expected monitor or protect, got '\(text)'", at: map.value("mode"), key: "\(path).mode")
            }
        }
        if let node = map.value("scripts") {
            let text: String? = {
                if case .scalar(let scalar) = node { return scalar.string.lowercased() }
                return nil
            }()
            switch text {
            case "off", "false", "no": policy.scripts = .off
            case "report", "on", "true", "yes": policy.scripts = .report
            case "enforce": policy.scripts = .enforce
            default: diagnostics.error("expected report, enforce or off", at: node, key: "\(path).scripts")
            }
        }
        policy.protect = patterns(map, "protect", path: path)
        policy.monitor = patterns(map, "monitor", path: path)
        if let bytes = map.bytes("max_body", range: 1024...(256 * 1024 * 1024)) { policy.maxBodyBytes = Int(bytes) }
        if let ignoreNode = map.value("ignore") {
            policy.ignore = []
            guard case .sequence(let sequence) = ignoreNode else {
                diagnostics.error(
                    "expected a list such as - { selector: \"#updated\" } or - { builtin: timestamps }", at: ignoreNode,
                    key: "\(path).ignore")
                return policy
            }
            for (index, item) in sequence.enumerated() {
                if let rule = ignoreRule(item, path: "\(path).ignore[\(index)]") { policy.ignore.append(rule) }
            }
        }
        return policy
    }

    func ignoreRule(_ node: Node, path: String) -> IntegrityPolicy.Ignore? {
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return nil }
        defer { map.finish(allowed: Self.ignoreKeys) }
        if let selector = map.string("selector") {
            guard SimpleSelectorSyntax.isValid(selector) else {
                diagnostics.error(
                    "expected a simple selector such as #id, .class, tag, tag.class or input[name=csrf], got '\(selector)'",
                    at: map.value("selector"), key: "\(path).selector")
                return nil
            }
            return .selector(selector)
        }
        if let list = map.stringList("between") {
            guard list.count == 2, !list[0].0.isEmpty, !list[1].0.isEmpty else {
                diagnostics.error("expected two markers: between: [\"<!-- live -->\", \"<!-- /live -->\"]", at: map.value("between"), key: "\(path).between")
                return nil
            }
            return .between(list[0].0, list[1].0)
        }
        if let name = map.string("builtin") {
            switch name {
            case "timestamps": return .timestamps
            case "tokens": return .tokens
            default:
                diagnostics.error("expected timestamps or tokens, got '\(name)'", at: map.value("builtin"), key: "\(path).builtin")
                return nil
            }
        }
        diagnostics.error("say what to ignore: selector, between or builtin", at: node, key: path)
        return nil
    }
}

/// The selector forms `ignore` accepts: a tag, `#id`, `.class`s and `[attr]` / `[attr=value]`, without
/// combinators. The normaliser (PnyxIntegrity) parses the same form.
public enum SimpleSelectorSyntax {
    public static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains(" "), !text.contains(">"), !text.contains(",") else { return false }
        var depth = 0
        for c in text {
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1 }
            if depth < 0 || depth > 1 { return false }
        }
        return depth == 0
    }
}
