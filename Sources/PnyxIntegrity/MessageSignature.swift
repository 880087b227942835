import Foundation

/// HTTP Message Signatures (RFC 9421): the signature base Pnyx signs and verifiers rebuild, and the
/// `Signature-Input` / `Signature` fields.
///
/// Pnyx signs responses with Ed25519 over `"@status"`, `"@path"` (the request's, RFC 9421 §2.4 `;req` is
/// not needed: a response's `@path` is not defined, so the request path is carried as `"@path";req`),
/// `"content-digest"` and `"date"`.
public struct SignatureParameters: Sendable, Equatable {
    /// Covered component identifiers, in order, as serialised (`"date"`, `"@path";req`).
    public var components: [String]
    public var created: Int64?
    public var keyID: String?
    public var algorithm: String?
    public var tag: String?

    public init(components: [String], created: Int64? = nil, keyID: String? = nil, algorithm: String? = nil, tag: String? = nil) {
        self.components = components
        self.created = created
        self.keyID = keyID
        self.algorithm = algorithm
        self.tag = tag
    }

    /// The inner list with its parameters, as it appears in `Signature-Input` and on `@signature-params`.
    public var serialized: String {
        var text = "(" + components.joined(separator: " ") + ")"
        if let created { text += ";created=\(created)" }
        if let keyID { text += ";keyid=\"\(keyID)\"" }
        if let algorithm { text += ";alg=\"\(algorithm)\"" }
        if let tag { text += ";tag=\"\(tag)\"" }
        return text
    }

    /// Parses one `Signature-Input` member value (an inner list of strings with parameters).
    public init?(parsing text: Substring) {
        var rest = text.trimmingCharacters(in: .whitespaces)[...]
        guard rest.hasPrefix("("), let close = rest.firstIndex(of: ")") else { return nil }
        let inner = rest[rest.index(after: rest.startIndex)..<close]
        var components: [String] = []
        var current = ""
        var inString = false
        for c in inner {
            if c == "\"" { inString.toggle() }
            if c == " " && !inString {
                if !current.isEmpty { components.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { components.append(current) }
        self.init(components: components)
        rest = rest[rest.index(after: close)...]
        for parameter in rest.split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            switch pair[0].trimmingCharacters(in: .whitespaces) {
            case "created": created = Int64(value)
            case "keyid": keyID = value
            case "alg": algorithm = value
            case "tag": tag = value
            default: break
            }
        }
    }
}

/// The values a signature base draws from: derived components and header fields.
public struct SignatureComponents: Sendable {
    public var method: String?
    public var path: String?
    public var authority: String?
    public var status: Int?
    /// Header field values by lower-case name (several values are joined with ", ").
    public var fields: [String: String]

    public init(method: String? = nil, path: String? = nil, authority: String? = nil, status: Int? = nil, fields: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.authority = authority
        self.status = status
        self.fields = fields
    }

    public struct MissingComponent: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "the message has no \(name)" }
    }

    /// The signature base (RFC 9421 §2.5): one line per covered component, then `@signature-params`.
    public func signatureBase(_ parameters: SignatureParameters) throws -> String {
        var lines: [String] = []
        for component in parameters.components {
            let name = component.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let value: String?
            switch name {
            case "@method": value = method
            case "@path": value = path
            case "@authority": value = authority
            case "@status": value = status.map(String.init)
            default: value = fields[name.lowercased()]
            }
            guard let value else { throw MissingComponent(name: component) }
            lines.append("\(component): \(value.trimmingCharacters(in: .whitespaces))")
        }
        lines.append("\"@signature-params\": \(parameters.serialized)")
        return lines.joined(separator: "\n")
    }
}

/// `Signature-Input` / `Signature` dictionaries with one label (Pnyx writes `pnyx`; it reads any one label).
public enum SignatureFields {
    /// The members of a structured-field dictionary whose values may contain parentheses and quoted strings.
    public static func members(_ field: String) -> [(label: String, value: Substring)] {
        var result: [(String, Substring)] = []
        var depth = 0
        var inString = false
        var start = field.startIndex
        var index = field.startIndex
        func take(_ end: String.Index) {
            let member = field[start..<end]
            if let eq = member.firstIndex(of: "=") {
                let label = member[..<eq].trimmingCharacters(in: .whitespaces)
                result.append((label, member[member.index(after: eq)...]))
            }
        }
        while index < field.endIndex {
            let c = field[index]
            if c == "\"" { inString.toggle() }
            if !inString {
                if c == "(" { depth += 1 }
                if c == ")" { depth -= 1 }
                if c == "," && depth == 0 {
                    take(index)
                    start = field.index(after: index)
                }
            }
            index = field.index(after: index)
        }
        take(field.endIndex)
        return result
    }

    /// The bytes of a `:base64:` byte sequence.
    public static func byteSequence(_ value: Substring) -> [UInt8]? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 2, trimmed.hasPrefix(":"), trimmed.hasSuffix(":") else { return nil }
        return Data(base64Encoded: String(trimmed.dropFirst().dropLast())).map { Array($0) }
    }
}
