import Atomics
import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore
import Synchronization

/// When each site's results were last updated from the origin (kept across reloads, shared by every loop).
public final class StatusBoard: Sendable {
    public final class Entry: Sendable {
        /// Wall-clock milliseconds of the last 200 for the results path from the origin (0: none yet).
        public let resultsUpdatedMillis = ManagedAtomic<Int64>(0)
    }
    private let entries = Mutex<[String: Entry]>([:])
    public init() {}
    public func entry(for site: String) -> Entry {
        entries.withLock { table in
            if let existing = table[site] { return existing }
            let created = Entry()
            table[site] = created
            return created
        }
    }
}

/// The opt-in public status page: `/.well-known/pnyx/status` (JSON) and `/.pnyx/status` (HTML). It says whether the
/// site is up, degraded or down (origin health checks and posture), when the results were last updated from the
/// origin, which protections are on, and, in plain words, that an attack on the website does not change votes.
/// Placed after the rate limits and before the challenge: anyone can read it, nobody can flood it.
public final class StatusPageFilter: Filter {
    public let name: FilterName = "status_page"
    public var phases: PhaseSet { [.requestHead, .upstreamResponse] }

    public static let jsonPath = "/.well-known/pnyx/status"
    public static let pagePath = "/.pnyx/status"

    final class SiteEntry: Sendable {
        let name: String
        let policy: StatusPagePolicy
        let configuration: SiteConfiguration
        let origins: [OriginHealthState]
        let posture: (any PostureSource)?
        let board: StatusBoard.Entry
        init(name: String, policy: StatusPagePolicy, configuration: SiteConfiguration, origins: [OriginHealthState], posture: (any PostureSource)?, board: StatusBoard.Entry) {
            self.name = name
            self.policy = policy
            self.configuration = configuration
            self.origins = origins
            self.posture = posture
            self.board = board
        }
    }

    let sites: SiteTable<SiteEntry>
    let clock: @Sendable () -> Int64

    public init(
        sites: [Site], health: OriginHealthRegistry, board: StatusBoard, posture: (Site) -> (any PostureSource)? = { _ in nil },
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.sites = SiteTable(sites) { site in
            guard let policy = site.configuration.statusPage else { return nil }
            let name = site.name.rawValue
            let checked = site.configuration.healthCheck != nil
            return SiteEntry(
                name: name, policy: policy, configuration: site.configuration,
                origins: checked ? site.configuration.origins.map { health.state(site: name, origin: $0) } : [],
                posture: site.configuration.escalation.enabled ? posture(site) : nil, board: board.entry(for: name))
        }
        self.clock = clock
    }

    public var isEmpty: Bool { sites.isEmpty }

    public func requestHead(_ context: RequestContext) -> Verdict {
        let path = context.path
        guard path.utf8.count >= 13, path.utf8.first == UInt8(ascii: "/"), path.utf8.dropFirst().first == UInt8(ascii: "."),
            path == Self.jsonPath || path == Self.pagePath, let entry = sites[context.site]
        else { return .continue }
        context.outcome = .responded
        context.decidedBy = name
        guard context.head.method == .GET || context.head.method == .HEAD else {
            return .respond(LocalResponse(status: .methodNotAllowed, headers: ["Allow": "GET, HEAD"]))
        }
        let report = Self.report(entry, now: clock())
        return .respond(path == Self.jsonPath ? Self.json(report) : Self.html(report))
    }

    public func upstreamResponse(_ context: RequestContext, head: inout ResponseHead) -> Verdict {
        guard head.status == .ok, let entry = sites[context.site], context.path.hasPrefix(entry.policy.resultsPath) else { return .continue }
        entry.board.resultsUpdatedMillis.store(clock(), ordering: .relaxed)
        return .continue
    }

    struct Report: Codable, Equatable {
        var site: String
        var title: String
        /// `up`, `degraded` or `down`.
        var status: String
        var detail: String
        var resultsPath: String
        /// ISO 8601, or nil before Pnyx has fetched them.
        var resultsUpdated: String?
        var protections: [String]
        var votes: String
        var checkedAt: String
    }

    static let votesLine =
        "This website does not count votes. An attack on it, or an outage, cannot change any vote or any official result; official results are certified by election officials."

    static func report(_ entry: SiteEntry, now: Int64) -> Report {
        let down = entry.origins.filter { !$0.isUp }.count
        let posture = entry.posture?.posture ?? .normal
        let c = entry.configuration
        var status = "up", detail = "The website is working normally."
        if !entry.origins.isEmpty && down == entry.origins.count {
            status = "down"
            detail = "The website's server is not answering. Pages Pnyx has kept (such as the results) are still served."
        } else if down > 0 {
            status = "degraded"
            detail = "One of the website's servers is not answering; the others are serving."
        } else if posture != .normal || c.challenge.underAttack {
            status = "degraded"
            detail = "The website is under unusual load; extra checks are on, and some visitors may see a short browser check."
        }
        var protections: [String] = []
        if c.waf.engine != .off { protections.append("Attack filtering (web application firewall, \(c.waf.mode == .block ? "blocking" : "monitoring"))") }
        if !c.rateLimits.isEmpty || c.escalation.enabled { protections.append("Flood protection (rate limits\(c.escalation.enabled ? ", automatic escalation" : ""))") }
        if c.challenge.underAttack { protections.append("Browser check for visitors (under-attack mode)") } else if c.challenge.onEscalation && c.escalation.enabled {
            protections.append("Browser check when under attack")
        }
        if c.cache.enabled { protections.append("Cached pages kept available if the server fails") }
        if !c.integrity.signedPaths.isEmpty { protections.append("Signed results (anyone can verify them)") }
        if !c.integrity.protect.isEmpty || c.integrity.mode != .monitor { protections.append("Tamper protection for key pages") }
        let updated = entry.board.resultsUpdatedMillis.load(ordering: .relaxed)
        return Report(
            site: entry.name, title: entry.policy.title ?? entry.name, status: status, detail: detail, resultsPath: entry.policy.resultsPath,
            resultsUpdated: updated > 0 ? iso8601(millis: updated) : nil, protections: protections, votes: votesLine, checkedAt: iso8601(millis: now))
    }


    static func json(_ report: Report) -> LocalResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(report)) ?? Data("{}".utf8)
        return LocalResponse(
            status: .ok,
            headers: ["Content-Type": "application/json", "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"],
            body: ByteBuffer(bytes: data))
    }

    static func html(_ report: Report) -> LocalResponse {
        let h = TextEscaping.html
        let colour = report.status == "up" ? "#188038" : (report.status == "down" ? "#b3261e" : "#b06000")
        let label = report.status == "up" ? "Up" : (report.status == "down" ? "Down" : "Degraded")
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(h(report.title)): website status</title>
            <style>body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#202124}
            .status{font-size:1.6rem;font-weight:700;color:\(colour)}ul{padding-left:1.2rem}.muted{color:#5f6368;font-size:.9rem}</style>
            </head><body>
            <h1>\(h(report.title)): website status</h1>
            <p class="status">\(label)</p><p>\(h(report.detail))</p>
            <p>Results (<a href="\(h(report.resultsPath))">\(h(report.resultsPath))</a>) last updated: <strong>\(h(report.resultsUpdated ?? "not yet seen by this server"))</strong></p>
            <h2>Protections in place</h2><ul>\(report.protections.map { "<li>\(h($0))</li>" }.joined())</ul>
            <p><strong>\(h(report.votes))</strong></p>
            <p class="muted">Checked \(h(report.checkedAt)). Machine-readable: <a href="\(StatusPageFilter.jsonPath)">\(StatusPageFilter.jsonPath)</a></p>
            </body></html>
            """
        return LocalResponse(
            status: .ok,
            headers: [
                "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ],
            body: ByteBuffer(string: page))
    }
}
