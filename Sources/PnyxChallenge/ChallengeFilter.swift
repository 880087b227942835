import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore

/// The bot challenge on the data path (request-head phase, after access lists and rate limits): answers its own
/// endpoints (`/.pnyx/challenge/verify`, `/.pnyx/challenge/wait`), and for a request that must be challenged (the
/// site is under attack, escalation says so, the path is listed, or a rate-limit rule asked) lets through cleared
/// clients and verified crawlers, gives JSON clients a 429 and other methods a 429 (or passes them), and shows
/// browsers the page.
public final class ChallengeFilter: Filter {
    public let name: FilterName = "challenge"
    public var phases: PhaseSet { [.requestHead] }

    /// A class, so that a lookup costs one retain rather than a copy of every field.
    final class SiteEntry: Sendable {
        let name: String
        let configuration: SiteConfiguration
        let policy: ChallengePolicy
        let counters: ChallengeStats.Counters
        let posture: (any PostureSource)?
        let bots: [GoodBot]

        init(
            name: String, configuration: SiteConfiguration, policy: ChallengePolicy, counters: ChallengeStats.Counters,
            posture: (any PostureSource)?, bots: [GoodBot]
        ) {
            self.name = name
            self.configuration = configuration
            self.policy = policy
            self.counters = counters
            self.posture = posture
            self.bots = bots
        }
    }

    let sites: SiteTable<SiteEntry>
    let state: ChallengeState
    /// Cookies this replica already checked (a filter chain is built per event loop, so this is touched by one
    /// thread only): the next request with the same cookie from the same network skips the HMACs.
    let verified = VerifiedClearances()

    static let prefix = "/.pnyx/challenge/"

    public init(
        sites: [Site], state: ChallengeState, posture: (Site) -> (any PostureSource)? = { _ in nil }
    ) {
        self.state = state
        self.sites = SiteTable(sites) { site in
            let policy = site.configuration.challenge
            return SiteEntry(
                name: site.name.rawValue, configuration: site.configuration, policy: policy,
                counters: state.stats.counters(for: site.name.rawValue),
                posture: site.configuration.escalation.enabled ? posture(site) : nil,
                bots: policy.goodBots ? GoodBot.builtIn + policy.extraBots : [])
        }
    }

    public func requestHead(_ context: RequestContext) -> Verdict {
        guard let site = sites[context.site] else { return .continue }
        let path = context.path
        if path.utf8.starts(with: Self.prefix.utf8) { return endpoint(context, site: site) }
        // The common case first and cheapest: nothing asks for the challenge.
        let posture = site.posture?.posture ?? .normal
        guard context.challengeRequestedBy != nil || site.policy.underAttack
            || (site.policy.onEscalation && posture == .underAttack)
            || (!site.policy.paths.isEmpty && site.policy.paths.contains(where: { $0.matches(path) }))
        else { return .continue }
        let policy = site.policy
        if context.allowListed || policy.isExempt(path, site: site.configuration) { return .continue }
        let headers = context.head.headers
        let now = context.startWallMillis / 1000
        if let cookie = Clearance.find(in: headers) {
            let key = VerifiedClearances.key(cookie, site: site.name, address: context.client.address)
            if verified.isValid(key, now: now) {
                site.counters.add(.passed)
                return .continue
            }
            if let expires = Clearance.validExpiry(
                cookie, keys: state.keys, site: site.name, prefix: ClientPrefix.of(context.client.address), now: now)
            {
                verified.insert(key, expires: expires)
                site.counters.add(.passed)
                return .continue
            }
        }
        let clientPrefix = ClientPrefix.of(context.client.address)
        if !site.bots.isEmpty, let address = context.client.address, let agent = headers.first(name: "user-agent"),
            let bot = GoodBotVerifier.claimed(agent, bots: site.bots)
        {
            switch state.bots.status(of: address, claiming: bot, now: now) {
            case .verified:
                site.counters.add(.bot)
                return .continue
            case .pending:
                return .respond(Self.plain(.serviceUnavailable, "Verifying crawler; please retry shortly.\n", retryAfter: 10))
            case .impostor, .notABot:
                break
            }
        }
        context.outcome = .challenged
        context.decidedBy = name
        context.rule = context.challengeRequestedBy ?? (policy.underAttack ? "under_attack" : "escalation")
        let method = context.head.method
        if method != .GET && method != .HEAD {
            if !policy.refuseOtherMethods {
                context.outcome = .forwarded
                context.decidedBy = nil
                context.rule = nil
                return .continue
            }
            site.counters.add(.refused)
            return .respond(
                Self.tooMany(
                    "This site is under heavy load. Please open the page in your browser first, then try again.",
                    wantsJSON: Self.wantsJSON(headers), requestID: context.id.description))
        }
        if Self.wantsJSON(headers) {
            site.counters.add(.json)
            return .respond(
                Self.tooMany(
                    "This site is verifying browsers while it is under heavy load. Load the page in a browser, or retry later.",
                    wantsJSON: true, requestID: context.id.description))
        }
        site.counters.add(.issued)
        return .respond(page(context, site: site, target: context.uri, clientPrefix: clientPrefix, now: now, posture: posture))
    }

    func page(
        _ context: RequestContext, site: SiteEntry, target: String, clientPrefix: String, now: Int64, posture: Posture
    ) -> LocalResponse {
        let difficulty = min(32, site.policy.difficulty + 2 * Int(posture.rawValue))
        let target = Self.safeTarget(target)
        let token = ChallengeToken.issue(
            kind: .proofOfWork, keys: state.keys, site: site.name, prefix: clientPrefix, target: target,
            difficulty: difficulty, now: now)
        let wait = ChallengeToken.issue(
            kind: .wait, keys: state.keys, site: site.name, prefix: clientPrefix, target: target, difficulty: 0, now: now)
        return ChallengePage.response(
            token: token, waitToken: wait, target: target, host: context.host,
            waitSeconds: Int(site.policy.noscriptWait.components.seconds),
            acceptLanguage: context.head.headers.first(name: "accept-language"), requestID: context.id.description,
            isHEAD: context.head.method == .HEAD)
    }

    // MARK: endpoints

    func endpoint(_ context: RequestContext, site: SiteEntry) -> Verdict {
        context.outcome = .challenged
        context.decidedBy = name
        let query = QueryString.parameters(context.uri)
        let target = Self.safeTarget(query["r"] ?? "/")
        let clientPrefix = ClientPrefix.of(context.client.address)
        let now = context.startWallMillis / 1000
        let token = query["t"] ?? ""
        switch context.path.dropFirst(Self.prefix.count) {
        case "verify":
            let checked = ChallengeToken.verify(
                token[...], keys: state.keys, site: site.name, prefix: clientPrefix, target: target, now: now)
            switch checked {
            case .success(let challenge) where challenge.kind == .proofOfWork
                && ProofOfWork.isSolved(challenge: challenge.text, counter: query["s"] ?? "", difficulty: challenge.difficulty):
                site.counters.add(.solved)
                context.rule = "solved"
                return .respond(clear(context, site: site, target: target, clientPrefix: clientPrefix, now: now))
            case .success:
                return failed(context, site: site, target: target, clientPrefix: clientPrefix, now: now, reason: .unsolved)
            case .failure(let reason):
                return failed(context, site: site, target: target, clientPrefix: clientPrefix, now: now, reason: reason)
            }
        case "wait":
            let checked = ChallengeToken.verify(
                token[...], keys: state.keys, site: site.name, prefix: clientPrefix, target: target, now: now,
                wait: site.policy.noscriptWait.components.seconds)
            switch checked {
            case .success(let challenge) where challenge.kind == .wait:
                guard state.noscript.take(clientPrefix, limit: site.policy.noscriptPerPrefix, now: now) else {
                    site.counters.add(.refused)
                    context.rule = "noscript_budget"
                    return .respond(
                        Self.tooMany(
                            "Too many visits without JavaScript from your network. Please wait ten minutes, or turn JavaScript on.",
                            wantsJSON: false, requestID: context.id.description, retryAfter: Int(NoscriptBudget.window)))
                }
                site.counters.add(.noscript)
                context.rule = "noscript"
                return .respond(clear(context, site: site, target: target, clientPrefix: clientPrefix, now: now))
            case .success:
                return failed(context, site: site, target: target, clientPrefix: clientPrefix, now: now, reason: .malformed)
            case .failure(let reason):
                return failed(context, site: site, target: target, clientPrefix: clientPrefix, now: now, reason: reason)
            }
        default:
            return .respond(Self.plain(.notFound, "Not found.\n"))
        }
    }

    /// A wrong answer: counted, and the browser gets a fresh challenge for the same page.
    func failed(
        _ context: RequestContext, site: SiteEntry, target: String, clientPrefix: String, now: Int64,
        reason: ChallengeToken.Rejection
    ) -> Verdict {
        site.counters.add(.failed)
        context.rule = "failed_\(reason.rawValue)"
        if reason == .notYet {
            // The no-JavaScript wait is not over (a refresh came early): the page again, which waits again.
            return .respond(page(context, site: site, target: target, clientPrefix: clientPrefix, now: now, posture: .normal))
        }
        if Self.wantsJSON(context.head.headers) {
            return .respond(Self.tooMany("The browser check failed.", wantsJSON: true, requestID: context.id.description))
        }
        return .respond(page(context, site: site, target: target, clientPrefix: clientPrefix, now: now, posture: site.posture?.posture ?? .normal))
    }

    /// Clearance: the cookie, and back to the page (303, so the browser asks for it with GET).
    func clear(_ context: RequestContext, site: SiteEntry, target: String, clientPrefix: String, now: Int64) -> LocalResponse {
        let lifetime = min(ChallengeKeys.epochSeconds, max(60, site.policy.clearance.components.seconds))
        let value = Clearance.mint(keys: state.keys, site: site.name, prefix: clientPrefix, now: now, lifetime: lifetime)
        var headers = HTTPHeaders()
        headers.add(name: "location", value: target)
        headers.add(name: "set-cookie", value: Clearance.setCookie(value, lifetime: lifetime, secure: context.scheme == "https"))
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "content-length", value: "0")
        return LocalResponse(status: .seeOther, headers: headers)
    }

    // MARK: helpers

    /// A path on this site (never another host: `//evil`, `\\evil` and absolute URLs become `/`).
    static func safeTarget(_ target: String) -> String {
        guard target.hasPrefix("/"), !target.hasPrefix("//"), !target.contains("\\"),
            !target.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }), !target.hasPrefix(prefix)
        else { return "/" }
        return target
    }

    /// Whether the client wants a machine-readable answer (an API client, `fetch`/XHR), not a page.
    static func wantsJSON(_ headers: HTTPHeaders) -> Bool {
        if headers.first(name: "x-requested-with")?.lowercased() == "xmlhttprequest" { return true }
        if let mode = headers.first(name: "sec-fetch-mode"), mode != "navigate", mode != "nested-navigate" { return true }
        guard let accept = headers.first(name: "accept")?.lowercased() else { return false }
        return accept.contains("json") && !accept.contains("text/html")
    }

    static func tooMany(_ message: String, wantsJSON: Bool, requestID: String, retryAfter: Int = 30) -> LocalResponse {
        var headers = HTTPHeaders()
        headers.add(name: "retry-after", value: String(retryAfter))
        headers.add(name: "cache-control", value: "no-store")
        let body: String
        if wantsJSON {
            headers.add(name: "content-type", value: "application/json")
            body = "{\"status\":429,\"error\":\"challenge_required\",\"message\":\(ChallengePage.jsString(message)),\"retry_after\":\(retryAfter),\"request_id\":\"\(requestID)\"}\n"
        } else {
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            body = message + "\n"
        }
        return LocalResponse(status: .tooManyRequests, headers: headers, body: ByteBuffer(string: body))
    }

    static func plain(_ status: HTTPResponseStatus, _ text: String, retryAfter: Int? = nil) -> LocalResponse {
        var headers: HTTPHeaders = ["content-type": "text/plain; charset=utf-8", "cache-control": "no-store"]
        if let retryAfter { headers.add(name: "retry-after", value: String(retryAfter)) }
        return LocalResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }
}

/// Clearance cookies one event loop's filter has verified, until they expire (bounded; cleared when full).
final class VerifiedClearances: @unchecked Sendable {  // one event loop only: see ChallengeFilter.verified
    private var expiries: [Int: Int64] = [:]
    static let capacity = 16_384

    /// The cookie, the site and the client's network, hashed (SipHash, seeded per process).
    static func key(_ cookie: Substring, site: String, address: IPAddress?) -> Int {
        var hasher = Hasher()
        hasher.combine(cookie)
        hasher.combine(site)
        if let address {
            if let v4 = address.ipv4Value { hasher.combine(v4 >> 8) } else { hasher.combine(address.high) }
        }
        return hasher.finalize()
    }

    func isValid(_ key: Int, now: Int64) -> Bool {
        guard let expires = expiries[key] else { return false }
        return expires > now
    }

    func insert(_ key: Int, expires: Int64) {
        if expiries.count >= Self.capacity { expiries.removeAll(keepingCapacity: true) }
        expiries[key] = expires
    }
}
