import NIOCore
import NIOHTTP1
import NIOPosix
import PnyxCore

/// The WAF on the data path: CRS phase 1 on the request head, phase 2 on the whole body (held back from the origin
/// until inspected; a request without a body runs phase 2 at once). A request CRS scores at or above the site's
/// threshold is refused with 403 and a page giving its reference, and recorded as a security event with the rule
/// ids, the score and short, masked evidence. In `detect` mode it is recorded as an alert and let through.
///
/// The origin's answer to a request that passed goes through phase 3 (status and headers) and, when it is one of
/// `SecResponseBodyMimeType`'s types and no longer than `SecResponseBodyLimit`, phase 4 (the body, gathered before
/// the client sees any of it; the answer to any method but HEAD, a form POST's too): CRS's RESPONSE-95x rules (SQL, Java, PHP, IIS error
/// leakage) and its outbound anomaly score. A response that reaches the outbound threshold is replaced by the same
/// 403 page and recorded; in `detect` mode it is served and recorded as an alert.
public final class WAFFilter: Filter {
    public let name: FilterName = "waf"
    public var phases: PhaseSet { [.requestHead, .inspectBody, .upstreamResponse, .originBody, .complete] }
    let sites: SiteTable<SiteWAF>
    /// One PCRE2 scratch area per event-loop thread (match data, JIT stack), reused by every request on it.
    let scratch: ThreadSpecificVariable<RegexScratch>

    public var isEmpty: Bool { sites.isEmpty }

    public init(sites: [Site], ruleSets: WAFRuleSets) throws(SecLangError) {
        var built: [ObjectIdentifier: SiteWAF] = [:]
        for site in sites where site.configuration.waf.engine != .off {
            let ruleSet = try ruleSets.ruleSet(for: site.configuration.waf)
            built[ObjectIdentifier(site)] = SiteWAF(rules: ruleSet, policy: site.configuration.waf)
        }
        self.sites = SiteTable(sites) { built[ObjectIdentifier($0)] }
        scratch = ThreadSpecificVariable()
    }

    private func regexScratch() -> RegexScratch {
        if let existing = scratch.currentValue { return existing }
        let made = RegexScratch()
        scratch.currentValue = made
        return made
    }

    public func requestHead(_ context: RequestContext) -> Verdict {
        guard let site = sites[context.site] else { return .continue }
        let head = context.head
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(head.headers.count)
        for header in head.headers { headers.append((header.name, header.value)) }
        let version = head.version.major == 2 ? "HTTP/2.0" : "HTTP/\(head.version.major).\(head.version.minor)"
        let request = WAFRequest(
            method: head.method.rawValue, target: head.uri, protocolVersion: version, headers: headers,
            remoteAddress: context.client.addressText, uniqueID: context.id.description)
        let transaction = Transaction(rules: site.rules, request: request, scratch: regexScratch())
        if let verdict = decide(transaction.processRequestHeaders(), transaction, site: site, context: context) { return verdict }
        if head.announcesBody {
            context.inspection = transaction
            context.holdBody(limit: site.policy.inspectBodyBytes, rejectLarger: site.policy.overLimit == .reject)
            return .continue
        }
        return requestInspected(transaction.processRequestBody([]), transaction, site: site, context: context)
    }

    public func inspectBody(_ context: RequestContext, body: ByteBuffer) -> Verdict {
        guard let site = sites[context.site], let transaction = context.inspection as? Transaction else { return .continue }
        context.inspection = nil
        let bytes = Array(body.readableBytesView)
        return requestInspected(transaction.processRequestBody(bytes), transaction, site: site, context: context)
    }

    /// The request's phases are done: its verdict, and the transaction kept for the response phases if it passed.
    private func requestInspected(_ interruption: Interruption?, _ transaction: Transaction, site: SiteWAF, context: RequestContext) -> Verdict {
        let verdict = decide(interruption, transaction, site: site, context: context) ?? native(transaction, site: site, context: context)
        // A request CRS interrupted but Pnyx let through (unconfirmed, or detect mode) keeps its interruption, which
        // would stop the response phases: only a clean transaction goes on to them.
        if case .continue = verdict, site.inspectsResponses, transaction.interruption == nil {
            context.inspection = ResponseInspection(transaction: transaction)
        }
        return verdict
    }

    /// Phase 3: the origin's status and headers.
    public func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict {
        guard let inspection = context.inspection as? ResponseInspection, let site = sites[context.site] else { return .continue }
        var headers: [(name: String, value: String)] = []
        let block = head.headers
        block.forEachLine { name, value, _, _ in
            headers.append((block.value(name).lowercased(), block.value(value)))
            return true
        }
        let interruption = inspection.transaction.processResponseHeaders(
            status: Int(head.status.code), protocolVersion: "HTTP/\(head.version.major).\(head.version.minor)", headers: headers)
        return responseVerdict(interruption, inspection.transaction, site: site, context: context)
    }

    /// Phase 4: gathers a response body of a type CRS inspects (up to the response body limit), whatever the method.
    public func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? {
        guard let inspection = context.inspection as? ResponseInspection, let site = sites[context.site],
            site.inspectsResponseBodies, let type = head.headers.first(name: "content-type")
        else { return nil }
        // A compressed body would be inspected as its compressed bytes: CRS's patterns would never match them.
        if let encoding = head.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" { return nil }
        let mime = String((type.split(separator: ";", maxSplits: 1).first ?? "").filter { $0 != " " && $0 != "\t" }).lowercased()
        guard site.rules.settings.responseBodyMimeTypes.contains(mime) else { return nil }
        return ResponseBodyInspection(filter: self, site: site, transaction: inspection.transaction)
    }

    public func complete(_ context: RequestContext) {
        guard context.bodyOverflowed, context.inspection is Transaction, let site = sites[context.site] else { return }
        context.inspection = nil
        context.emit(
            filter: name, rule: "body_uninspected", action: .alert,
            evidence: "request body longer than \(site.policy.inspectBodyBytes) bytes went to the origin uninspected")
    }

    /// Phase 3's or 4's verdict: a refusal says the origin's answer, not the request, was withheld.
    func responseVerdict(_ interruption: Interruption?, _ transaction: Transaction, site: SiteWAF, context: RequestContext) -> Verdict {
        guard case .block(var block)? = decide(interruption, transaction, site: site, context: context) else { return .continue }
        block.message = Self.responseMessage
        return .block(block)
    }

    /// `engine: native`: after the body was parsed, the native detectors' verdict.
    private func native(_ transaction: Transaction, site: SiteWAF, context: RequestContext) -> Verdict {
        guard site.policy.engine == .native, let finding = NativeEngine.find(transaction) else { return .continue }
        let evidence = "\(finding.variable)=\(Self.mask(String(decoding: finding.value.prefix(120), as: UTF8.self)))"
        if site.policy.mode == .detect {
            context.emit(filter: name, rule: "native:" + finding.detector, action: .alert, evidence: evidence)
            return .continue
        }
        return .block(Block(status: .forbidden, filter: name, rule: "native:" + finding.detector, message: Self.message, evidence: evidence))
    }

    /// A block for an interruption; in detect mode, an alert for what would have been refused.
    private func decide(_ interruption: Interruption?, _ transaction: Transaction, site: SiteWAF, context: RequestContext) -> Verdict? {
        if let interruption {
            let summary = Self.summary(transaction)
            if site.policy.engine == .both, interruption.ruleID == 949110 || interruption.ruleID == 949111,
                Self.confirmedScore(transaction) < site.policy.inboundThreshold
            {
                // CRS's SQLi/XSS points were not confirmed by the native detectors: let it through, say so.
                context.emit(filter: name, rule: summary.rules, action: .alert, evidence: "unconfirmed " + summary.evidence)
                return nil
            }
            if interruption.action == .drop {
                return .block(Block(status: .forbidden, filter: name, rule: summary.rules, message: Self.message,
                                    evidence: summary.evidence, closeConnection: true))
            }
            return .block(Block(
                status: HTTPResponseStatus(statusCode: interruption.status), filter: name, rule: summary.rules,
                message: Self.message, evidence: summary.evidence))
        }
        // Detect mode: CRS's blocking evaluation matched but the engine only logs. One alert per request.
        if site.policy.mode == .detect, !transaction.reported,
            transaction.matches.contains(where: { $0.id == 949110 || $0.id == 949111 || $0.id == 959100 })
        {
            transaction.reported = true
            let summary = Self.summary(transaction)
            context.emit(filter: name, rule: summary.rules, action: .alert, evidence: summary.evidence)
        }
        return nil
    }

    /// CRS rules that fire on ordinary words (an address "1 Select Way", "update my registration; delete my old
    /// address"): under `engine: both` their points count only if the native SQL detector agrees. Every other rule
    /// counts as CRS says, so detection stays CRS's (measured by `bench/detection.sh`).
    static let keywordSQLRules: Set<Int> = [
        942350, 942360, 942361, 942362, 942370, 942380, 942390, 942400, 942410, 942430, 942431, 942432, 942440,
        942470, 942480,
    ]

    /// SQL punctuation next to the keywords (quotes, parentheses, `=`, comment openers): the words are not prose.
    static func sqlSyntax(_ value: [UInt8]) -> Bool {
        var previous: UInt8 = 0
        for byte in value {
            switch byte {
            case 0x27, 0x22, 0x28, 0x29, 0x3D, 0x60: return true
            case 0x2A where previous == 0x2F: return true
            default: break
            }
            previous = byte
        }
        return false
    }

    /// CRS's inbound score counted again with the native detectors as a second opinion on the rules that fire on
    /// words (points per match, as CRS adds them: critical 5, error 4, warning 3, notice 2). An uploaded file's name
    /// with only an apostrophe (`resume_O'Brien.pdf`) is not the multipart bypass 920120 looks for.
    static func confirmedScore(_ transaction: Transaction) -> Int {
        var total = 0
        for match in transaction.matches where match.phase <= 2 {
            if (949000...949999).contains(match.id) || (980000...980999).contains(match.id) { continue }
            guard let severity = match.severity else { continue }
            let points = [2: 5, 3: 4, 4: 3, 5: 2][severity] ?? 0
            if keywordSQLRules.contains(match.id), !sqlSyntax(match.bytes), SQLInjectionDetector.detect(match.bytes) == nil { continue }
            if match.id == 920120, !match.bytes.contains(where: { $0 == 0x22 || $0 == 0x3B || $0 == 0x3D || $0 == 0x5C }) { continue }
            total += points
        }
        return total
    }

    static let responseMessage =
        "The site's answer to this request was withheld: it contained what looks like leaked server details (an error "
        + "message). Please tell the election office and give them the reference below."

    static let message =
        "This request looks like an attack on the site and was blocked. If you were doing something ordinary, "
        + "tell the election office and give them the reference below."

    /// The rule ids that scored (not CRS's own evaluation rules), and evidence: the score and the first match,
    /// with its value cut short and long digit runs masked (no whole bodies, no personal numbers).
    static func summary(_ transaction: Transaction) -> (rules: String, evidence: String) {
        let scoring = transaction.matches.filter { !(949000...949999).contains($0.id) && !(980000...980999).contains($0.id) }
        var ids: [Int] = []
        for match in scoring where !ids.contains(match.id) { ids.append(match.id) }
        let rules = ids.prefix(8).map(String.init).joined(separator: ",")
        var evidence = "score=\(transaction.inboundAnomalyScore)"
        if transaction.outboundAnomalyScore > 0 { evidence += " outbound=\(transaction.outboundAnomalyScore)" }
        if let first = scoring.first {
            evidence += " \(first.variable)=\(mask(first.value))"
        }
        return (rules.isEmpty ? "waf" : rules, evidence)
    }

    static func mask(_ value: String) -> String {
        var out = ""
        var digits = 0
        for character in value.prefix(60) {
            if character.isNumber {
                digits += 1
                out.append(digits > 3 ? "#" : character)
            } else {
                digits = 0
                out.append(character.isASCII && !character.isNewline ? character : "?")
            }
        }
        return value.count > 60 ? out + "…" : out
    }
}

/// A site's compiled rules and policy.
final class SiteWAF: Sendable {
    let rules: RuleSet
    let policy: WAFPolicy
    /// The rules have a phase 3 or 4 (CRS's RESPONSE-95x): transactions are kept for the origin's answer.
    let inspectsResponses: Bool
    /// `SecResponseBodyAccess On` and phase-4 rules: response bodies are gathered for them.
    let inspectsResponseBodies: Bool

    init(rules: RuleSet, policy: WAFPolicy) {
        self.rules = rules
        self.policy = policy
        let responseRules = rules.phases[3].contains { $0.markerName == nil } || rules.phases[4].contains { $0.markerName == nil }
        inspectsResponses = policy.engine != .native && responseRules
        inspectsResponseBodies = inspectsResponses && rules.settings.responseBodyAccess && rules.phases[4].contains { $0.markerName == nil }
    }
}

/// A transaction whose request passed, kept on the request until the origin answers (phases 3 and 4).
final class ResponseInspection {
    let transaction: Transaction
    init(transaction: Transaction) { self.transaction = transaction }
}

/// Gathers a response body for phase 4: served as the origin sent it, or refused (the proxy answers with the 403
/// page) if CRS's outbound score reached the threshold.
final class ResponseBodyInspection: ResponseCollector {
    let filter: WAFFilter
    let site: SiteWAF
    let transaction: Transaction
    var limit: Int { site.rules.settings.responseBodyLimit }

    init(filter: WAFFilter, site: SiteWAF, transaction: Transaction) {
        self.filter = filter
        self.site = site
        self.transaction = transaction
    }

    func finish(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict {
        filter.responseVerdict(
            transaction.processResponseBody(Array(body.readableBytesView)), transaction, site: site, context: context)
    }

    /// Longer than `SecResponseBodyLimit`: served uninspected (phase 4 does not run).
    func overflowed(_ context: RequestContext, head: ResponseHead) {}
}
