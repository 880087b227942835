/// A small, forgiving HTML tokenizer over bytes: start and end tags with their attributes, comments and text,
/// with byte offsets into the input. Enough to find elements by simple selectors, links and scripts; not a tree
/// builder (no implied end tags, no foster parenting). The contents of `script`, `style`, `textarea` and `title`
/// are raw text, as in the HTML standard.
public struct HTMLScanner {
    public struct Attribute: Equatable {
        public var name: String
        /// The value's byte range (empty for a bare attribute); the quotes are outside it.
        public var valueRange: Range<Int>
        public var value: String
    }

    public enum Token: Equatable {
        /// `<name …>`; `range` covers the whole tag.
        case startTag(name: String, attributes: [Attribute], selfClosing: Bool, range: Range<Int>)
        case endTag(name: String, range: Range<Int>)
        case comment(range: Range<Int>)
        case text(range: Range<Int>)
    }

    static let rawTextElements: Set<String> = ["script", "style", "textarea", "title"]
    public static let voidElements: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ]

    public let bytes: [UInt8]
    private var position = 0
    private var rawTextEnd: String?

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func next() -> Token? {
        guard position < bytes.count else { return nil }
        if let element = rawTextEnd {
            rawTextEnd = nil
            let start = position
            let end = Self.find(closingTag: element, in: bytes, from: position) ?? bytes.count
            position = end
            if end > start { return .text(range: start..<end) }
            return next()
        }
        let start = position
        if bytes[position] != UInt8(ascii: "<") {
            position = Self.index(of: UInt8(ascii: "<"), in: bytes, from: position) ?? bytes.count
            return .text(range: start..<position)
        }
        // A comment, doctype or processing instruction.
        if Self.hasPrefix("<!--", bytes, at: position) {
            let end = Self.find(Array("-->".utf8), in: bytes, from: position + 4).map { $0 + 3 } ?? bytes.count
            position = end
            return .comment(range: start..<end)
        }
        if position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "!") || bytes[position + 1] == UInt8(ascii: "?") {
            position = (Self.index(of: UInt8(ascii: ">"), in: bytes, from: position) ?? bytes.count - 1) + 1
            return .comment(range: start..<position)
        }
        let isEnd = position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "/")
        var i = position + (isEnd ? 2 : 1)
        let nameStart = i
        while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
        guard i > nameStart, Self.isLetter(bytes[nameStart]) else {
            // A lone '<' is text.
            position = Self.index(of: UInt8(ascii: "<"), in: bytes, from: position + 1) ?? bytes.count
            return .text(range: start..<position)
        }
        let name = Self.lowercased(bytes[nameStart..<i])
        if isEnd {
            position = (Self.index(of: UInt8(ascii: ">"), in: bytes, from: i) ?? bytes.count - 1) + 1
            return .endTag(name: name, range: start..<position)
        }
        var attributes: [Attribute] = []
        var selfClosing = false
        while i < bytes.count {
            while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
            guard i < bytes.count else { break }
            if bytes[i] == UInt8(ascii: ">") {
                i += 1
                break
            }
            if bytes[i] == UInt8(ascii: "/") {
                selfClosing = i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: ">")
                i += 1
                continue
            }
            let attributeStart = i
            while i < bytes.count, !Self.isSpace(bytes[i]), bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: ">"),
                !(bytes[i] == UInt8(ascii: "/") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: ">"))
            {
                i += 1
            }
            let attributeName = Self.lowercased(bytes[attributeStart..<i])
            while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
            var valueRange = i..<i
            if i < bytes.count, bytes[i] == UInt8(ascii: "=") {
                i += 1
                while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
                if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") {
                    let quote = bytes[i]
                    let valueStart = i + 1
                    let valueEnd = Self.index(of: quote, in: bytes, from: valueStart) ?? bytes.count
                    valueRange = valueStart..<valueEnd
                    i = min(bytes.count, valueEnd + 1)
                } else {
                    let valueStart = i
                    while i < bytes.count, !Self.isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">") { i += 1 }
                    valueRange = valueStart..<i
                }
            }
            if !attributeName.isEmpty {
                attributes.append(
                    Attribute(name: attributeName, valueRange: valueRange, value: String(decoding: bytes[valueRange], as: UTF8.self)))
            } else if i == attributeStart {
                i += 1
            }
        }
        position = i
        if Self.rawTextElements.contains(name) && !selfClosing { rawTextEnd = name }
        return .startTag(name: name, attributes: attributes, selfClosing: selfClosing, range: start..<i)
    }

    // MARK: byte helpers

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C }
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
    static func isNameByte(_ b: UInt8) -> Bool {
        isLetter(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: ":")
    }

    static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    static func index(of byte: UInt8, in bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < bytes.count {
            if bytes[i] == byte { return i }
            i += 1
        }
        return nil
    }

    static func hasPrefix(_ prefix: String, _ bytes: [UInt8], at index: Int) -> Bool {
        hasPrefix(Array(prefix.utf8), bytes, at: index)
    }

    static func hasPrefix(_ p: [UInt8], _ bytes: [UInt8], at index: Int) -> Bool {
        guard index + p.count <= bytes.count else { return false }
        for k in 0..<p.count where bytes[index + k] != p[k] { return false }
        return true
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] {
                var k = 1
                while k < needle.count, bytes[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Where `</element` starts (any case), from `start`.
    static func find(closingTag element: String, in bytes: [UInt8], from start: Int) -> Int? {
        let name = Array(element.utf8)
        var i = start
        while let lt = index(of: UInt8(ascii: "<"), in: bytes, from: i) {
            if lt + 2 + name.count <= bytes.count, bytes[lt + 1] == UInt8(ascii: "/") {
                var k = 0
                while k < name.count, bytes[lt + 2 + k] | 0x20 == name[k] { k += 1 }
                if k == name.count {
                    let after = lt + 2 + name.count
                    if after >= bytes.count || isSpace(bytes[after]) || bytes[after] == UInt8(ascii: ">") || bytes[after] == UInt8(ascii: "/") {
                        return lt
                    }
                }
            }
            i = lt + 1
        }
        return nil
    }
}
