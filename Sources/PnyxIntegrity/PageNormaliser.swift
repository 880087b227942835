import PnyxCore

/// A simple CSS selector: an optional tag, an optional `#id`, `.class`es and `[attr]` / `[attr=value]` tests.
public struct SimpleSelector: Equatable, Sendable {
    public var tag: String?
    public var id: String?
    public var classes: [String] = []
    public var attributes: [(name: String, value: String?)] = []

    public static func == (a: SimpleSelector, b: SimpleSelector) -> Bool {
        a.tag == b.tag && a.id == b.id && a.classes == b.classes
            && a.attributes.map(\.name) == b.attributes.map(\.name) && a.attributes.map(\.value) == b.attributes.map(\.value)
    }

    public init?(_ text: String) {
        var rest = Substring(text)
        func takeName() -> String {
            let end = rest.firstIndex { "#.[".contains($0) } ?? rest.endIndex
            let name = String(rest[..<end])
            rest = rest[end...]
            return name
        }
        let tag = takeName().lowercased()
        if !tag.isEmpty && tag != "*" { self.tag = tag }
        while let c = rest.first {
            rest = rest.dropFirst()
            switch c {
            case "#": id = takeName()
            case ".": classes.append(takeName())
            case "[":
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = rest[..<close]
                rest = rest[rest.index(after: close)...]
                let pair = inside.split(separator: "=", maxSplits: 1)
                guard let first = pair.first else { return nil }
                let value = pair.count == 2 ? String(pair[1]).trimmingQuotes : nil
                attributes.append((first.lowercased(), value))
            default: return nil
            }
        }
        if self.tag == nil && id == nil && classes.isEmpty && attributes.isEmpty { return nil }
    }

    func matches(tag name: String, attributes list: [HTMLScanner.Attribute]) -> Bool {
        if let tag, tag != name { return false }
        func value(_ n: String) -> String? { list.first { $0.name == n }?.value }
        if let id, value("id") != id { return false }
        if !classes.isEmpty {
            let present = (value("class") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            for c in classes where !present.contains(Substring(c)) { return false }
        }
        for (attribute, expected) in attributes {
            guard let actual = value(attribute) else { return false }
            if let expected, actual != expected { return false }
        }
        return true
    }
}

extension String {
    var trimmingQuotes: String {
        var s = Substring(self)
        if s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f { s = s.dropFirst().dropLast() }
        return String(s)
    }
}

/// Takes out of a page what legitimately changes between two loads (configured in `integrity.ignore`), so that
/// two versions compare equal when only those parts differ.
public struct PageNormaliser: Sendable {
    let selectors: [SimpleSelector]
    let markers: [([UInt8], [UInt8])]
    let timestamps: Bool
    let tokens: Bool

    public init(_ rules: [IntegrityPolicy.Ignore]) {
        var selectors: [SimpleSelector] = []
        var markers: [([UInt8], [UInt8])] = []
        var timestamps = false
        var tokens = false
        for rule in rules {
            switch rule {
            case .selector(let text): if let s = SimpleSelector(text) { selectors.append(s) }
            case .between(let a, let b): markers.append((Array(a.utf8), Array(b.utf8)))
            case .timestamps: timestamps = true
            case .tokens: tokens = true
            }
        }
        self.selectors = selectors
        self.markers = markers
        self.timestamps = timestamps
        self.tokens = tokens
    }

    /// The page with ignored parts removed. `isHTML` enables selectors and tokens (markers and timestamps apply to
    /// any text).
    public func normalise(_ body: [UInt8], isHTML: Bool) -> [UInt8] {
        var cut: [Range<Int>] = []
        for (open, close) in markers {
            var from = 0
            while let start = HTMLScanner.find(open, in: body, from: from) {
                let contentStart = start + open.count
                guard let end = HTMLScanner.find(close, in: body, from: contentStart) else { break }
                cut.append(contentStart..<end)
                from = end + close.count
            }
        }
        if isHTML && (!selectors.isEmpty || tokens) { cut += htmlRanges(body) }
        var out = Self.remove(cut, from: body)
        if timestamps { out = Self.blankTimestamps(out) }
        return out
    }

    private func htmlRanges(_ body: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var scanner = HTMLScanner(body)
        /// Open elements whose content is being cut: (tag, depth of that tag, content start).
        var open: [(String, Int, Int)] = []
        while let token = scanner.next() {
            switch token {
            case .startTag(let name, let attributes, let selfClosing, let range):
                for index in open.indices where open[index].0 == name { open[index].1 += 1 }
                if tokens {
                    for a in attributes where a.name == "nonce" { ranges.append(a.valueRange) }
                    if name == "input", let nameValue = attributes.first(where: { $0.name == "name" })?.value.lowercased(),
                        nameValue.contains("csrf") || nameValue.contains("token") || nameValue.contains("authenticity"),
                        let value = attributes.first(where: { $0.name == "value" })
                    {
                        ranges.append(value.valueRange)
                    }
                }
                guard selectors.contains(where: { $0.matches(tag: name, attributes: attributes) }) else { continue }
                if HTMLScanner.voidElements.contains(name) || selfClosing {
                    for a in attributes where a.name == "value" || a.name == "content" { ranges.append(a.valueRange) }
                } else {
                    open.append((name, 1, range.upperBound))
                }
            case .endTag(let name, let range):
                var closed: [Int] = []
                for index in open.indices where open[index].0 == name {
                    open[index].1 -= 1
                    if open[index].1 == 0 {
                        ranges.append(open[index].2..<range.lowerBound)
                        closed.append(index)
                    }
                }
                for index in closed.reversed() { open.remove(at: index) }
            case .comment, .text:
                continue
            }
        }
        for element in open { ranges.append(element.2..<body.count) }
        return ranges
    }

    static func remove(_ ranges: [Range<Int>], from body: [UInt8]) -> [UInt8] {
        guard !ranges.isEmpty else { return body }
        let sorted = ranges.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var position = 0
        for range in sorted {
            if range.lowerBound > position { out += body[position..<range.lowerBound] }
            position = max(position, range.upperBound)
        }
        if position < body.count { out += body[position...] }
        return out
    }

    /// Replaces each run that reads as a date or a time (`2026-11-03`, `11/03/2026`, `14:05`, `14:05:09.123Z`,
    /// `2026-11-03T14:05:09+00:00`) with `#`.
    static func blankTimestamps(_ body: [UInt8]) -> [UInt8] {
        func isRunByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: ":") || b == UInt8(ascii: "-") || b == UInt8(ascii: "/")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "T") || b == UInt8(ascii: "Z") || b == UInt8(ascii: "+")
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        while i < body.count {
            guard body[i] >= 0x30 && body[i] <= 0x39 else {
                out.append(body[i])
                i += 1
                continue
            }
            var j = i
            while j < body.count, isRunByte(body[j]) { j += 1 }
            let run = body[i..<j]
            if looksLikeTimestamp(run) {
                out.append(UInt8(ascii: "#"))
            } else {
                out += run
            }
            i = j
        }
        return out
    }

    static func looksLikeTimestamp(_ run: ArraySlice<UInt8>) -> Bool {
        // Digit groups and the separators between them.
        var groups: [Int] = []
        var separators: [UInt8] = []
        var count = 0
        for b in run {
            if b >= 0x30 && b <= 0x39 {
                count += 1
            } else {
                if count > 0 { groups.append(count) }
                count = 0
                separators.append(b)
            }
        }
        if count > 0 { groups.append(count) }
        guard groups.count >= 2 else { return false }
        if separators.contains(UInt8(ascii: ":")) { return groups.count >= 2 && groups[1] == 2 }
        if separators.first == UInt8(ascii: "-") { return groups.count >= 3 && groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2 }
        if separators.first == UInt8(ascii: "/") { return groups.count >= 3 && groups[0] <= 2 && groups[1] <= 2 && (groups[2] == 4 || groups[2] == 2) }
        return false
    }
}
