/// A string with `%{collection.key}` references (`%{tx.anomaly_score}`, `%{MATCHED_VAR}`, `%{rule.id}`), parsed
/// once at load and expanded against a transaction.
public struct Macro: Sendable {
    enum Part: Sendable {
        case text([UInt8])
        case variable(VariableName, key: String?)
    }

    let parts: [Part]
    public let source: String

    /// The text has no references: it expands to itself.
    var constant: [UInt8]? {
        if parts.isEmpty { return [] }
        if parts.count == 1, case .text(let bytes) = parts[0] { return bytes }
        return nil
    }

    public init(_ source: String) {
        self.source = source
        var parts: [Part] = []
        var literal: [UInt8] = []
        let bytes = Array(source.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x25, index + 1 < bytes.count, bytes[index + 1] == 0x7B,
                let close = bytes[(index + 2)...].firstIndex(of: 0x7D)
            {
                let inside = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
                let name: Substring, key: String?
                if let dot = inside.firstIndex(where: { $0 == "." || $0 == ":" }) {
                    name = inside[..<dot]
                    key = String(inside[inside.index(after: dot)...]).lowercased()
                } else {
                    name = Substring(inside)
                    key = nil
                }
                if let variable = VariableName.byName[name.uppercased()] {
                    if !literal.isEmpty { parts.append(.text(literal)) }
                    literal = []
                    parts.append(.variable(variable, key: key))
                    index = close + 1
                    continue
                }
            }
            literal.append(bytes[index])
            index += 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    func expand(_ transaction: Transaction) -> [UInt8] {
        if let constant { return constant }
        var out: [UInt8] = []
        for part in parts {
            switch part {
            case .text(let bytes): out += bytes
            case .variable(let name, let key): out += transaction.macroValue(name, key: key)
            }
        }
        return out
    }

    func expandString(_ transaction: Transaction) -> String {
        String(decoding: expand(transaction), as: UTF8.self)
    }
}
