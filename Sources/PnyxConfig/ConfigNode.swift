import Yams

/// Collects errors while a YAML tree is read into typed values.
final class ConfigDiagnostics {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    func error(_ message: String, at node: Node?, key: String) {
        let mark = node?.mark
        errors.append(
            ConfigError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: key, message: message))
    }
}

/// A YAML mapping being read. Every key read is marked; `finish()` reports the keys nobody asked for.
final class ConfigMap {
    let node: Node
    let path: String
    let diagnostics: ConfigDiagnostics
    private var pairs: [(key: String, keyNode: Node, value: Node)] = []
    private var used: Set<String> = []

    init?(_ node: Node, path: String, diagnostics: ConfigDiagnostics) {
        guard case .mapping(let mapping) = node else {
            diagnostics.error("expected a mapping (key: value pairs)", at: node, key: path)
            return nil
        }
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
        var seen: Set<String> = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                diagnostics.error("keys must be plain strings", at: key, key: path)
                continue
            }
            if !seen.insert(name).inserted {
                diagnostics.error("duplicate key", at: key, key: childPath(name))
                continue
            }
            pairs.append((name, key, value))
        }
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node for `key`, marking it used.
    func value(_ key: String) -> Node? {
        used.insert(key)
        return pairs.first { $0.key == key }?.value
    }

    func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    /// Reports every key that was never read.
    func finish(allowed: [String]) {
        for pair in pairs where !used.contains(pair.key) {
            let hint = ConfigMap.suggestion(for: pair.key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            diagnostics.error(
                "unknown key '\(pair.key)'\(hint); allowed here: \(allowed.joined(separator: ", "))",
                at: pair.keyNode, key: childPath(pair.key))
        }
    }

    static func suggestion(for key: String, in allowed: [String]) -> String? {
        let scored = allowed.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= max(2, key.count / 3) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: typed readers

    func string(_ key: String) -> String? {
        guard let node = value(key) else { return nil }
        return ConfigMap.string(node, path: childPath(key), diagnostics: diagnostics)
    }

    static func string(_ node: Node, path: String, diagnostics: ConfigDiagnostics) -> String? {
        guard case .scalar(let scalar) = node else {
            diagnostics.error("expected a single value", at: node, key: path)
            return nil
        }
        return scalar.string
    }

    func bool(_ key: String) -> Bool? {
        guard let node = value(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            diagnostics.error("expected true or false", at: node, key: childPath(key))
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            diagnostics.error("expected true or false, got '\(scalar.string)'", at: node, key: childPath(key))
            return nil
        }
    }

    func int(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let node = value(key), let text = ConfigMap.string(node, path: childPath(key), diagnostics: diagnostics)
        else { return nil }
        guard let number = Int(text), range.contains(number) else {
            diagnostics.error(
                "expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'", at: node,
                key: childPath(key))
            return nil
        }
        return number
    }

    /// A duration: `500ms`, `10s`, `2m`, `1h`, `7d`, or a bare number of seconds.
    func duration(_ key: String) -> Duration? {
        guard let node = value(key), let text = ConfigMap.string(node, path: childPath(key), diagnostics: diagnostics)
        else { return nil }
        guard let duration = ConfigMap.parseDuration(text) else {
            diagnostics.error(
                "expected a duration such as 500ms, 10s, 5m, 1h or 7d, got '\(text)'", at: node, key: childPath(key))
            return nil
        }
        return duration
    }

    static func parseDuration(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: " ")
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s" && number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64(value * Double(millis)))
        }
        if let seconds = Double(text), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
        return nil
    }

    /// A size: `512`, `64KiB`, `10MiB`, `1GiB` (or KB/MB/GB, powers of 1000).
    func bytes(_ key: String, range: ClosedRange<Int64>) -> Int64? {
        guard let node = value(key), let text = ConfigMap.string(node, path: childPath(key), diagnostics: diagnostics)
        else { return nil }
        guard let value = ConfigMap.parseBytes(text), range.contains(value) else {
            diagnostics.error(
                "expected a size such as 64KiB, 10MiB or 1GiB (at most \(range.upperBound) bytes), got '\(text)'",
                at: node, key: childPath(key))
            return nil
        }
        return value
    }

    static func parseBytes(_ text: String) -> Int64? {
        let text = text.trimmingCharacters(in: " ")
        let units: [(String, Int64)] = [
            ("kib", 1024), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1000), ("mb", 1_000_000),
            ("gb", 1_000_000_000), ("k", 1024), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
        ]
        let lower = text.lowercased()
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Int64(String(lower.dropLast(suffix.count)).trimmingCharacters(in: " ")), value >= 0 else {
                return nil
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return Int64(lower)
    }

    /// A rate in bytes per second: `1KiB/s`, `500B/s`, or `0` (off).
    func rate(_ key: String) -> Int? {
        guard let node = value(key), let text = ConfigMap.string(node, path: childPath(key), diagnostics: diagnostics)
        else { return nil }
        var amount = text.trimmingCharacters(in: " ")
        if amount.lowercased().hasSuffix("/s") { amount = String(amount.dropLast(2)) }
        guard let value = ConfigMap.parseBytes(amount), value <= Int64(1 << 40), amount != "" else {
            diagnostics.error("expected a rate such as 1KiB/s or 500B/s (0 for off), got '\(text)'", at: node, key: childPath(key))
            return nil
        }
        return Int(value)
    }

    /// A string or a list of strings.
    func stringList(_ key: String) -> [(String, Node)]? {
        guard let node = value(key) else { return nil }
        return ConfigMap.stringList(node, path: childPath(key), diagnostics: diagnostics)
    }

    static func stringList(_ node: Node, path: String, diagnostics: ConfigDiagnostics) -> [(String, Node)]? {
        switch node {
        case .scalar(let scalar):
            return [(scalar.string, node)]
        case .sequence(let sequence):
            var result: [(String, Node)] = []
            for (index, item) in sequence.enumerated() {
                if let text = string(item, path: "\(path)[\(index)]", diagnostics: diagnostics) {
                    result.append((text, item))
                }
            }
            return result
        default:
            diagnostics.error("expected a value or a list of values", at: node, key: path)
            return nil
        }
    }

    func map(_ key: String) -> ConfigMap? {
        guard let node = value(key) else { return nil }
        return ConfigMap(node, path: childPath(key), diagnostics: diagnostics)
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {  // no Foundation
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
