/// The `Cache-Control` directives a shared cache acts on (RFC 9111 §5.2), from one or more field values.
/// Unknown directives are ignored, as the RFC requires; a malformed delta-seconds makes its directive absent
/// (and, for `max-age`, the response stale: §4.2.1 says an invalid value means "already expired").
public struct CacheControl: Sendable, Equatable {
    public var maxAge: Int?
    public var sMaxAge: Int?
    public var noStore = false
    /// `no-cache` without field names: store, but revalidate before every use.
    public var noCache = false
    /// `private` without field names: a shared cache must not store it.
    public var isPrivate = false
    public var isPublic = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var staleWhileRevalidate: Int?
    public var staleIfError: Int?
    public var immutable = false
    /// Request directives.
    public var maxStale: Int?
    public var minFresh: Int?
    public var onlyIfCached = false
    /// A directive was present with an invalid value where one is required (e.g. `max-age=soon`).
    public var invalidMaxAge = false

    public init() {}

    public init(_ values: [String]) {
        for value in values { parse(value) }
    }

    mutating func parse(_ value: String) {
        var rest = Substring(value)
        while !rest.isEmpty {
            // One directive: token [ "=" ( token / quoted-string ) ], up to the next comma outside quotes.
            var name = ""
            var argument: String?
            var inQuotes = false
            var current = ""
            var sawEquals = false
            var index = rest.startIndex
            while index < rest.endIndex {
                let c = rest[index]
                if inQuotes {
                    if c == "\"" { inQuotes = false } else { current.append(c) }
                } else if c == "," {
                    break
                } else if c == "\"" && sawEquals {
                    inQuotes = true
                } else if c == "=" && !sawEquals {
                    name = current
                    current = ""
                    sawEquals = true
                } else {
                    current.append(c)
                }
                index = rest.index(after: index)
            }
            if sawEquals { argument = current.trimmed } else { name = current }
            apply(name.trimmed.lowercased(), argument)
            rest = index < rest.endIndex ? rest[rest.index(after: index)...] : ""
        }
    }

    mutating func apply(_ name: String, _ argument: String?) {
        func seconds() -> Int? {
            guard let argument, !argument.isEmpty, argument.allSatisfy(\.isASCIINumber) else { return nil }
            // Delta-seconds beyond 2^31 are treated as 2^31 (§1.2.2).
            return Int(argument.prefix(12)).map { min($0, 2_147_483_648) }
        }
        switch name {
        case "max-age":
            maxAge = seconds()
            if maxAge == nil { invalidMaxAge = true }
        case "s-maxage": sMaxAge = seconds()
        case "no-store": noStore = true
        // With field names, `no-cache` and `private` apply to those fields only: the response may still be
        // stored (without them, for `private`; Pnyx does not strip fields, so it treats that as not storable).
        case "no-cache": if argument == nil { noCache = true }
        case "private": isPrivate = true
        case "public": isPublic = true
        case "must-revalidate": mustRevalidate = true
        case "proxy-revalidate": proxyRevalidate = true
        case "stale-while-revalidate": staleWhileRevalidate = seconds()
        case "stale-if-error": staleIfError = seconds()
        case "immutable": immutable = true
        case "max-stale": maxStale = argument == nil ? Int.max : seconds()
        case "min-fresh": minFresh = seconds()
        case "only-if-cached": onlyIfCached = true
        default: break
        }
    }
}

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension Character {
    fileprivate var isASCIINumber: Bool { ("0"..."9").contains(self) }
}
