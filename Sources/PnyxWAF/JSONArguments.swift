/// Flattens a JSON body into ARGS_POST as ModSecurity v3 and Coraza do: `{"a":{"b":[1,"x"]}}` gives `json.a.b.0 = 1`
/// and `json.a.b.1 = x`. Malformed JSON, or nesting deeper than ``maxDepth``, is a body error.
struct JSONArguments {
    var arguments: [Entry] = []
    var maxDepth = 256
    private var bytes: [UInt8] = []
    private var index = 0

    mutating func parse(_ body: [UInt8]) -> String? {
        bytes = body
        index = 0
        do throws(JSONError) {
            skipBlanks()
            try value(path: "json", depth: 0)
            skipBlanks()
            if index != bytes.count { throw JSONError("trailing data at offset \(index)") }
            return nil
        } catch {
            return "JSON parsing error: \(error.message)"
        }
    }

    struct JSONError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private mutating func skipBlanks() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    private mutating func value(path: String, depth: Int) throws(JSONError) {
        guard depth < maxDepth else { throw JSONError("nesting deeper than \(maxDepth)") }
        guard index < bytes.count else { throw JSONError("unexpected end") }
        switch bytes[index] {
        case 0x7B:
            index += 1
            skipBlanks()
            if index < bytes.count, bytes[index] == 0x7D {
                index += 1
                return
            }
            while true {
                skipBlanks()
                guard index < bytes.count, bytes[index] == 0x22 else { throw JSONError("expected a key at offset \(index)") }
                let key = String(decoding: try string(), as: UTF8.self)
                skipBlanks()
                guard index < bytes.count, bytes[index] == 0x3A else { throw JSONError("expected ':' at offset \(index)") }
                index += 1
                skipBlanks()
                try value(path: path + "." + key, depth: depth + 1)
                skipBlanks()
                guard index < bytes.count else { throw JSONError("unexpected end") }
                if bytes[index] == 0x2C {
                    index += 1
                    continue
                }
                guard bytes[index] == 0x7D else { throw JSONError("expected ',' or '}' at offset \(index)") }
                index += 1
                return
            }
        case 0x5B:
            index += 1
            skipBlanks()
            if index < bytes.count, bytes[index] == 0x5D {
                index += 1
                return
            }
            var element = 0
            while true {
                skipBlanks()
                try value(path: path + "." + String(element), depth: depth + 1)
                element += 1
                skipBlanks()
                guard index < bytes.count else { throw JSONError("unexpected end") }
                if bytes[index] == 0x2C {
                    index += 1
                    continue
                }
                guard bytes[index] == 0x5D else { throw JSONError("expected ',' or ']' at offset \(index)") }
                index += 1
                return
            }
        case 0x22:
            arguments.append(Entry(name: path, value: try string()))
        default:
            let start = index
            while index < bytes.count, !(bytes[index] == 0x2C || bytes[index] == 0x7D || bytes[index] == 0x5D
                || bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09)
            {
                index += 1
            }
            let literal = Array(bytes[start..<index])
            guard !literal.isEmpty else { throw JSONError("unexpected character at offset \(index)") }
            let text = String(decoding: literal, as: UTF8.self)
            let isNumber = literal.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2B || $0 == 0x2E || $0 | 0x20 == 0x65 }
            guard isNumber || text == "true" || text == "false" || text == "null" else {
                throw JSONError("bad literal at offset \(start)")
            }
            arguments.append(Entry(name: path, value: text == "null" ? [] : literal))
        }
    }

    private mutating func string() throws(JSONError) -> [UInt8] {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                index += 1
                return out
            }
            if byte == 0x5C {
                guard index + 1 < bytes.count else { break }
                let escape = bytes[index + 1]
                index += 2
                switch escape {
                case 0x6E: out.append(0x0A)
                case 0x74: out.append(0x09)
                case 0x72: out.append(0x0D)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x75:
                    guard index + 4 <= bytes.count else { throw JSONError("bad \\u escape") }
                    var scalar: UInt32 = 0
                    for offset in 0..<4 {
                        guard let digit = Decoders.hexValue(bytes[index + offset]) else { throw JSONError("bad \\u escape") }
                        scalar = scalar << 4 | UInt32(digit)
                    }
                    index += 4
                    if (0xD800...0xDBFF).contains(scalar), index + 6 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 {
                        var low: UInt32 = 0
                        var valid = true
                        for offset in 0..<4 {
                            guard let digit = Decoders.hexValue(bytes[index + 2 + offset]) else { valid = false; break }
                            low = low << 4 | UInt32(digit)
                        }
                        if valid, (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        }
                    }
                    out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
                default: out.append(escape)
                }
                continue
            }
            out.append(byte)
            index += 1
        }
        throw JSONError("unterminated string")
    }
}

/// The text and attribute values of an XML body (what CRS reads through `XML:/*` and `XML://@*`). Not a validating
/// parser: unbalanced tags or a truncated document are a body error.
struct XMLText {
    var text: [UInt8] = []
    var attributes: [Entry] = []

    mutating func parse(_ body: [UInt8]) -> String? {
        var index = 0
        var depth = 0
        var sawElement = false
        while index < body.count {
            if body[index] != 0x3C {
                let start = index
                while index < body.count, body[index] != 0x3C { index += 1 }
                if depth > 0 { text += Decoders.htmlEntityDecode(Array(body[start..<index])) }
                continue
            }
            if body[index...].starts(with: Array("<!--".utf8)) {
                guard let end = Decoders.find(Array("-->".utf8), in: body, from: index) else { return "XML parsing error: unterminated comment" }
                index = end + 3
                continue
            }
            if body[index...].starts(with: Array("<![CDATA[".utf8)) {
                guard let end = Decoders.find(Array("]]>".utf8), in: body, from: index) else { return "XML parsing error: unterminated CDATA" }
                text += body[(index + 9)..<end]
                index = end + 3
                continue
            }
            guard let close = body[index...].firstIndex(of: 0x3E) else { return "XML parsing error: unterminated tag" }
            let tag = body[(index + 1)..<close]
            index = close + 1
            if tag.first == 0x3F || tag.first == 0x21 { continue }
            if tag.first == 0x2F {
                depth -= 1
                if depth < 0 { return "XML parsing error: unbalanced closing tag" }
                continue
            }
            sawElement = true
            readAttributes(tag)
            if tag.last != 0x2F { depth += 1 }
        }
        if depth != 0 || !sawElement { return "XML parsing error: document is not well formed" }
        return nil
    }

    private mutating func readAttributes(_ tag: ArraySlice<UInt8>) {
        var index = tag.startIndex
        while index < tag.endIndex {
            guard let equals = tag[index...].firstIndex(of: 0x3D) else { return }
            var quote = equals + 1
            while quote < tag.endIndex, tag[quote] == 0x20 { quote += 1 }
            guard quote < tag.endIndex, tag[quote] == 0x22 || tag[quote] == 0x27 else { return }
            guard let end = tag[(quote + 1)...].firstIndex(of: tag[quote]) else { return }
            var nameEnd = equals
            while nameEnd > index, tag[nameEnd - 1] == 0x20 { nameEnd -= 1 }
            var nameStart = nameEnd
            while nameStart > index, tag[nameStart - 1] != 0x20 { nameStart -= 1 }
            let name = String(decoding: tag[nameStart..<nameEnd], as: UTF8.self)
            attributes.append(Entry(name: name, value: Decoders.htmlEntityDecode(Array(tag[(quote + 1)..<end]))))
            index = end + 1
        }
    }
}
