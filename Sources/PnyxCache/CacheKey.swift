/// The keys a stored response is found by (RFC 9111 §2 and §4.1).
///
/// The primary key is the site, the host (lower-case, no port) and the request target as sent (path and query,
/// byte for byte: reordering a query can change its meaning, so it is not normalized; a site rule may choose to
/// ignore the query for a path). The secondary key holds, for each field the response named in `Vary`, the
/// request's value of that field, normalized (names lower-case, values trimmed, several lines joined with ", ").
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let site: String
    public let host: String
    public let target: String

    public init(site: String, host: String, target: String, ignoreQuery: Bool = false) {
        self.site = site
        var host = host.lowercased()
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]"), host.firstIndex(of: ":") == colon {
            host = String(host[..<colon])  // host:port (an IPv6 literal keeps its brackets and colons)
        }
        self.host = host
        if ignoreQuery, let mark = target.firstIndex(of: "?") {
            self.target = String(target[..<mark])
        } else {
            self.target = target
        }
    }

    public var description: String { "\(site) \(host)\(target)" }
}

/// The secondary key from a response's `Vary` and a request's fields.
public struct VaryKey: Hashable, Sendable {
    /// (field name, normalized value or nil when the request lacked it), in the order `Vary` named them.
    public let values: [VaryValue]
    /// `Vary: *`: the response can never be reused (§4.1).
    public let matchesNothing: Bool

    public struct VaryValue: Hashable, Sendable {
        public let name: String
        public let value: String?
    }

    /// The field names a response's `Vary` lines name (lower-case, deduplicated, in order); `["*"]` for `*`.
    public static func names(_ varyLines: [String]) -> [String] {
        var names: [String] = []
        for line in varyLines {
            for part in line.split(separator: ",") {
                let name = part.trimmingSpaces.lowercased()
                if name.isEmpty || names.contains(name) { continue }
                if name == "*" { return ["*"] }
                names.append(name)
            }
        }
        return names
    }

    /// A key read back from storage (already normalized).
    init(values: [VaryValue], matchesNothing: Bool) {
        self.values = values
        self.matchesNothing = matchesNothing
    }

    /// - Parameter requestValues: a request field's values by lower-case name (all lines of it).
    public init(varyNames: [String], requestValues: (String) -> [String]) {
        if varyNames == ["*"] {
            values = []
            matchesNothing = true
            return
        }
        matchesNothing = false
        values = varyNames.map { name in
            let lines = requestValues(name).map { $0.trimmingSpaces }
            return VaryValue(name: name, value: lines.isEmpty ? nil : Self.normalize(name, lines.joined(separator: ", ")))
        }
    }

    /// Collapses whitespace after commas, and for `Accept-Encoding` keeps only the codings the cache can tell
    /// apart (so that `gzip, deflate, br` and `br, gzip` share a variant).
    static func normalize(_ name: String, _ value: String) -> String {
        let items = value.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        if name == "accept-encoding" {
            let codings = Set(items.map { $0.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? "" })
            return ["br", "gzip"].filter { codings.contains($0) }.joined(separator: ",")
        }
        return items.joined(separator: ", ")
    }

    /// Whether a stored variant (made with this key) may answer a request with `other` (§4.1).
    public func matches(_ other: VaryKey) -> Bool {
        !matchesNothing && !other.matchesNothing && values == other.values
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
