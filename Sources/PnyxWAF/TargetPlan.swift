/// How the engine reads one rule target on the hot path, worked out once when the rule set is built. Most CRS
/// targets are a whole request collection (`ARGS`, `REQUEST_HEADERS`), one key of it (`REQUEST_HEADERS:User-Agent`),
/// a value fixed for the request (`REQUEST_URI`) or one TX variable: those are read straight from the transaction's
/// slots, without the general visitor (a closure per target and a switch over every variable).
/// A whole collection with exclusions (`REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/`) reads a filtered list of slots,
/// made once per request for each distinct exclusion list (``RuleSet`` numbers them). Everything else (counts,
/// regex selectors, values that change during the request) goes through the visitor.
struct TargetPlan {
    enum Kind: UInt8 {
        /// Through ``Transaction/visit(_:selector:exclusions:_:)``.
        case general
        /// The slots of one or two request collections: `first` and `second` (-1: none) index `slotSets`
        /// (``Transaction/SlotIndex``).
        case slots
        /// A value fixed for the request: `first` indexes `scalarSlots` (the visitor makes it on first use).
        case scalar
        /// One TX variable by name (`key`).
        case txKey
    }

    var kind: Kind = .general
    var first = -1
    var second = -1
    /// The lowercased key of a `.key` selector (nil: every entry).
    var key: String?
    /// The target's exclusion list's number in the rule set (0: none; see ``RuleSet``): its slots are read filtered.
    var exclusionSet = 0

    init(_ target: VariableTarget) {
        guard !target.count else { return }
        switch target.selector {
        case .all: break
        case .key(let key) where target.exclusions.isEmpty: self.key = key
        case .key, .regex: return
        }
        typealias Source = Transaction.Source
        let names = Source.namesFlag
        func collection(_ a: Source, _ b: Source? = nil, names flag: Bool = false) {
            kind = .slots
            first = a.rawValue + (flag ? names : 0)
            second = b.map { $0.rawValue + (flag ? names : 0) } ?? -1
        }
        switch target.name {
        case .args: collection(.argsGet, .argsPost)
        case .argsGet: collection(.argsGet)
        case .argsPost: collection(.argsPost)
        case .argsNames: collection(.argsGet, .argsPost, names: true)
        case .argsGetNames: collection(.argsGet, names: true)
        case .argsPostNames: collection(.argsPost, names: true)
        case .requestHeaders: collection(.headers)
        case .requestHeadersNames: collection(.headers, names: true)
        case .requestCookies: collection(.cookies)
        case .requestCookiesNames: collection(.cookies, names: true)
        case .responseHeaders: collection(.responseHeaders)
        case .responseHeadersNames: collection(.responseHeaders, names: true)
        case .tx:
            if key != nil, target.exclusions.isEmpty { kind = .txKey }
        case _ where !target.exclusions.isEmpty:
            break
        case .requestURI, .requestURIRaw, .requestFilename, .requestBasename, .requestLine, .requestMethod,
            .requestProtocol, .queryString, .remoteAddr, .remoteHost, .serverName, .serverAddr, .uniqueID, .responseBody:
            kind = .scalar
            first = Transaction.scalarIndex[target.name]!
            key = nil
        default:
            break
        }
    }
}

extension TargetPlan {
    /// The text that identifies an exclusion list (equal lists, equal text): `k:` keys and `r:` regexes, in order.
    static func exclusionText(_ exclusions: [Selector]) -> String {
        exclusions.map { selector in
            switch selector {
            case .all: return "a:"
            case .key(let key): return "k:" + key
            case .regex(let regex): return "r:" + regex.pattern
            }
        }.joined(separator: "\u{0}")
    }
}
