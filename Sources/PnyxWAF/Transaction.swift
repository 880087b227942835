/// One named value of a collection (an argument, a header, a cookie, a TX variable).
struct Entry {
    var name: String
    /// The name lowercased, for selectors (SecLang compares collection keys case-insensitively).
    var key: String
    var value: [UInt8]

    init(name: String, value: [UInt8]) {
        self.name = name
        key = name.lowercased()
        self.value = value
    }

    init(name: String, key: String, value: [UInt8]) {
        self.name = name
        self.key = key
        self.value = value
    }
}

/// A request as the WAF sees it.
public struct WAFRequest: Sendable {
    public var method: String
    /// The request target as sent (`/path?query`, or absolute-form).
    public var target: String
    /// `HTTP/1.1`, `HTTP/2.0`.
    public var protocolVersion: String
    public var headers: [(name: String, value: String)]
    public var remoteAddress: String
    public var remotePort: Int
    public var serverAddress: String
    public var serverPort: Int
    public var uniqueID: String

    public init(method: String, target: String, protocolVersion: String = "HTTP/1.1", headers: [(name: String, value: String)],
                remoteAddress: String = "127.0.0.1", remotePort: Int = 0, serverAddress: String = "127.0.0.1",
                serverPort: Int = 80, uniqueID: String = "")
    {
        self.method = method
        self.target = target
        self.protocolVersion = protocolVersion
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.serverAddress = serverAddress
        self.serverPort = serverPort
        self.uniqueID = uniqueID
    }
}

/// A rule that matched and logs: what the security event and the conformance runner read.
public struct MatchedRule: Sendable {
    public var id: Int
    public var phase: Int
    public var message: String
    public var data: String
    public var severity: Int?
    public var tags: [String]
    /// The variable that matched (`ARGS:q`) and a short piece of its value.
    public var variable: String
    public var value: String
    /// The matched value as the operator saw it (transformed), up to 8 KiB: what the native detectors re-check.
    var bytes: [UInt8] = []
}

/// The engine stopped the transaction.
public struct Interruption: Sendable, Equatable {
    public enum Action: Sendable, Equatable { case deny, drop, redirect(String) }
    public var action: Action
    public var status: Int
    public var ruleID: Int
}

/// The WAF's state for one request: its variables, TX, matches and the decision. Used on one event loop (or one
/// test thread) only; built per request and thrown away at the end.
public final class Transaction {
    let rules: RuleSet
    let scratch: RegexScratch
    var engine: EngineMode
    var requestBodyAccess: Bool
    var bodyProcessor: BodyProcessorKind?
    var forceRequestBodyVariable = false

    // Request.
    let request: WAFRequest
    var requestURI: [UInt8] = []
    var requestFilename: [UInt8] = []
    var requestBasename: [UInt8] = []
    var queryString: [UInt8] = []
    var requestLine: [UInt8] = []
    var argsGet: [Entry] = []
    var argsPost: [Entry] = []
    var requestHeaders: [Entry] = []
    var cookies: [Entry] = []
    var files: [Entry] = []
    var filesSizes: [Entry] = []
    var multipartPartHeaders: [Entry] = []
    var multipartFlags: [VariableName: Int] = [:]
    var multipartFilenames: [Entry] = []
    var multipartNames: [Entry] = []
    var xmlText: [UInt8]?
    var xmlAttributes: [Entry] = []
    var requestBody: [UInt8] = []
    var requestBodyLength = 0
    var bodyError: String?
    var urlencodedError = false

    // Response.
    var responseStatus: Int?
    var responseProtocol: String = ""
    var responseHeaders: [Entry] = []
    var responseBody: [UInt8]?

    // Rule state.
    var tx: [String: Entry] = [:]
    /// Slots of TX variables read by key since they were last set (rules read the same few over and over).
    var txSlots: [String: ValueSlot] = [:]
    /// TX:0…TX:9 that may hold a value (bit n for "n"): set by every write of such a key, cleared when a capture
    /// removes it. Never misses a key that is set, so a capture need not look up those whose bit is clear.
    var captureKeysMaybeSet: UInt16 = 0
    var persistent: [VariableName: [String: Entry]] = [:]
    var env: [String: Entry] = [:]
    var matchedVar: Entry?
    var matchedVars: [Entry] = []
    /// The request's values as rules see them, made on first use (see ``ValueSlot``): per collection
    /// (`Source`), and per single-valued variable.
    /// `slotSets` holds, per exclusion list (0: none), 32 lists (``SlotIndex``).
    var slotSets: [[ValueSlot]?]
    var scalarSlots: [ValueSlot?] = Array(repeating: nil, count: VariableName.allCases.count)
    /// The slots' transformed forms, by serial and transformation-trie node.
    let transformCache: TransformCache
    var nextSerial = 0
    var currentRule: Rule?
    var highestSeverity = 255
    var removedRuleRanges: [ClosedRange<Int>] = []
    var removedTags: [String] = []
    var removedTargetsByID: [(ClosedRange<Int>, VariableName, Selector)] = []
    var removedTargetsByTag: [(String, VariableName, Selector)] = []
    var allowed: AllowScope?
    var startTime: UInt64

    /// Rules that matched and log, in order.
    public internal(set) var matches: [MatchedRule] = []
    /// Set when a rule denied or dropped the request (engine On).
    public internal(set) var interruption: Interruption?
    /// How many times an operator ran on a value (for `pnyx waf bench`).
    public internal(set) var operatorRuns = 0
    /// Rules evaluated (chain starters and SecActions).
    public internal(set) var rulesEvaluated = 0
    /// The caller already reported this transaction (detect mode: one alert per request).
    public var reported = false
    /// Regex matches that ended in an error (match limit): counted, treated as no match.
    public var regexErrors: Int { scratch.errors }

    public init(rules: RuleSet, request: WAFRequest, scratch: RegexScratch = RegexScratch()) {
        self.rules = rules
        self.scratch = scratch
        self.request = request
        slotSets = Array(repeating: nil, count: SlotIndex.stride * (rules.exclusionSets + 1))
        transformCache = TransformCache(columns: rules.transformNodes.count)
        engine = rules.settings.engine
        requestBodyAccess = rules.settings.requestBodyAccess
        startTime = Self.nowMicros()
        // CRS sets some 60 TX variables on every request: room for them up front, not rehashed as they come.
        tx.reserveCapacity(128)
        parseRequestHead()
    }

    // MARK: - Phases

    /// Phase 1: the request head.
    @discardableResult
    public func processRequestHeaders() -> Interruption? {
        run(phase: 1)
        return interruption
    }

    /// Phase 2: the request body (the whole body up to the inspection limit).
    @discardableResult
    public func processRequestBody(_ body: [UInt8]) -> Interruption? {
        if interruption != nil { return interruption }
        requestBodyLength = body.count
        if requestBodyAccess {
            requestBody = body
            parseRequestBody(body)
            dropSlots(Source.body)
        }
        run(phase: 2)
        return interruption
    }

    /// Phase 3: the response head.
    @discardableResult
    public func processResponseHeaders(status: Int, protocolVersion: String = "HTTP/1.1",
                                       headers: [(name: String, value: String)]) -> Interruption? {
        if interruption != nil { return interruption }
        responseStatus = status
        responseProtocol = protocolVersion
        responseHeaders = headers.map { Entry(name: $0.name, value: Array($0.value.utf8)) }
        dropSlots([.responseHeaders])
        run(phase: 3)
        return interruption
    }

    /// Phase 4: the response body (capped by the caller at the response body limit).
    @discardableResult
    public func processResponseBody(_ body: [UInt8]) -> Interruption? {
        if interruption != nil { return interruption }
        if rules.settings.responseBodyAccess {
            responseBody = body
            scalarSlots[Self.scalarIndex[.responseBody]!] = nil
        }
        run(phase: 4)
        return interruption
    }

    /// Phase 5: logging rules.
    public func processLogging() {
        run(phase: 5, evenIfInterrupted: true)
    }

    /// The inbound anomaly score CRS computed (0 without CRS).
    public var inboundAnomalyScore: Int {
        txInt("blocking_inbound_anomaly_score") ?? txInt("inbound_anomaly_score") ?? 0
    }

    /// The outbound anomaly score CRS computed from the response (0 without CRS).
    public var outboundAnomalyScore: Int {
        txInt("blocking_outbound_anomaly_score") ?? txInt("outbound_anomaly_score") ?? 0
    }

    public func txValue(_ name: String) -> String? {
        tx[name.lowercased()].map { String(decoding: $0.value, as: UTF8.self) }
    }

    func txInt(_ name: String) -> Int? {
        tx[name].flatMap { Int(String(decoding: $0.value, as: UTF8.self)) }
    }

    public func setTX(_ name: String, _ value: String) {
        let lower = name.lowercased()
        tx[lower] = Entry(name: name, value: Array(value.utf8))
        txSlots[lower] = nil
        noteTXWrite(lower)
    }

    // MARK: - Running a phase

    func run(phase: Int, evenIfInterrupted: Bool = false) {
        guard engine != .off else { return }
        if interruption != nil, !evenIfInterrupted { return }
        if let allowed {
            switch allowed {
            case .all: if phase < 5 { return }
            case .request: if phase <= 2 { return }
            case .phase: self.allowed = nil
            }
        }
        let list = rules.phases[phase]
        var index = 0
        while index < list.count {
            let rule = list[index]
            index += 1
            if rule.markerName != nil || isRemoved(rule) { continue }
            rulesEvaluated &+= 1
            guard evaluate(rule) else { continue }
            if rule.actions.skipAfter != nil {
                let target = rule.skipAfterIndex
                if target >= 0 { index = max(index, target + 1) } else { index = list.count }
            } else if rule.actions.skip > 0 {
                var skipped = 0
                while skipped < rule.actions.skip, index < list.count {
                    if list[index].markerName == nil { skipped += 1 }
                    index += 1
                }
            }
            var disruptive = rule.actions.disruptive
            if disruptive == .block { disruptive = rules.settings.blockAction[phase] }
            guard engine == .on else { continue }
            switch disruptive {
            case .pass, .block:
                continue
            case .deny, .drop, .redirect:
                let status = rule.actions.status ?? rules.settings.blockStatus[phase] ?? 403
                let action: Interruption.Action
                switch disruptive {
                case .drop: action = .drop
                case .redirect(let url): action = .redirect(url)
                default: action = .deny
                }
                interruption = Interruption(action: action, status: status, ruleID: rule.id)
                if phase < 5 { return }
            case .allow(let scope):
                allowed = scope
                return
            }
        }
    }

    func isRemoved(_ rule: Rule) -> Bool {
        if !removedRuleRanges.isEmpty, removedRuleRanges.contains(where: { $0.contains(rule.id) }) { return true }
        if !removedTags.isEmpty, rule.actions.tags.contains(where: { removedTags.contains($0) }) { return true }
        return false
    }

    static func nowMicros() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
