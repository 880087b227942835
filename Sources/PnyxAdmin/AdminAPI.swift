import Foundation
import Hummingbird
import NIOCore
import PnyxControl
import PnyxCore

/// The JSON API's handlers, by route name (``AdminRoutes/all``). The guard has already authorized the call.
enum AdminAPI {
    static func handlers(backend: any AdminBackend, control: ControlPlane) -> [String: AdminHandler] {
        var h: [String: AdminHandler] = [:]
        h["status"] = { call in
            var status = await backend.status()
            status.sites = status.sites.filter(call.principal.canSee)
            return try AdminResponses.json(status)
        }
        h["me"] = { call in
            try AdminResponses.json(
                MeDTO(name: call.principal.name, role: call.principal.role.rawValue, sites: call.principal.sites.sorted(), via: call.principal.via.rawValue))
        }
        h["reload"] = { _ in
            let result = await backend.reload()
            return try AdminResponses.json(result, status: result.ok ? .ok : .unprocessableContent)
        }
        h["events"] = { call in
            let sites = call.visibleSites(all: backend.siteSummaries().map(\.name) + ["-"])
            let query = try eventQuery(call, sites: call.principal.seesAllSites && call.site == nil ? nil : sites)
            return try AdminResponses.json(try await backend.queryEvents(query).map(EventDTO.init))
        }
        h["stats"] = { call in
            let sites = call.principal.seesAllSites && call.site == nil ? nil : call.visibleSites(all: backend.siteSummaries().map(\.name))
            let (from, to) = try range(call, defaultDays: 14)
            let days = try await backend.dailyCounts(sites: sites, fromMillis: from, toMillis: to)
            let clients = try await backend.top(.client, sites: sites, fromMillis: from, toMillis: to, limit: 10)
            let rules = try await backend.top(.rule, sites: sites, fromMillis: from, toMillis: to, limit: 10)
            let countries = try await backend.topCountries(sites: sites, fromMillis: from, toMillis: to, limit: 10)
            return try AdminResponses.json(
                StatsDTO(from: iso8601(millis: from), to: iso8601(millis: to), days: days, topClients: clients, topRules: rules, topCountries: countries,
                    sites: backend.siteSummaries().filter { sites?.contains($0.name) ?? true }))
        }
        h["sites"] = { call in try AdminResponses.json(backend.siteSummaries().filter { call.principal.canSee(site: $0.name) }) }
        h["site.under_attack"] = { call in
            let input = try AdminResponses.decode(UnderAttackRequest.self, call.body)
            return try await setting(call, .underAttack, input.on.map { $0 ? "true" : "false" }, backend: backend, control: control)
        }
        h["site.waf_mode"] = { call in
            let input = try AdminResponses.decode(WAFModeRequest.self, call.body)
            return try await setting(call, .wafMode, input.mode, backend: backend, control: control)
        }
        h["site.rate_limit_scale"] = { call in
            let input = try AdminResponses.decode(RateLimitScaleRequest.self, call.body)
            if let scale = input.scale, !(0.1...10).contains(scale) {
                return AdminResponses.jsonError(.badRequest, "scale is from 0.1 to 10 (or null for the configuration's budgets)")
            }
            return try await setting(call, .rateLimitScale, input.scale.map { String($0) }, backend: backend, control: control)
        }
        h["site.waf_exclusions"] = { call in
            let input = try AdminResponses.decode(WAFExclusionsRequest.self, call.body)
            guard let items = input.exclusions, !items.isEmpty else {
                return try await setting(call, .wafExclusions, nil, backend: backend, control: control)
            }
            var lines: [String] = []
            for (index, item) in items.enumerated() {
                var exclusion = WAFPolicy.Exclusion()
                exclusion.tags = item.tags ?? []
                exclusion.pathPrefix = item.path
                exclusion.arguments = item.arguments ?? []
                var line = exclusion.line
                if let rules = item.rules, !rules.isEmpty { line = "rules=\(rules.map(\.text).joined(separator: ",")) " + line }
                guard let parsed = WAFPolicy.Exclusion(line: line) else {
                    return AdminResponses.jsonError(
                        .badRequest,
                        "exclusion \(index) is malformed: give rules (ids or ranges such as 942100-942199) or tags, an optional path starting with '/', and argument names")
                }
                lines.append(parsed.line)
            }
            return try await setting(call, .wafExclusions, lines.joined(separator: "\n"), backend: backend, control: control)
        }
        h["bans"] = { call in try AdminResponses.json(backend.bans().filter { call.principal.canSee(site: $0.site) }) }
        h["bans.add"] = { call in
            let input = try AdminResponses.decode(AddBanRequest.self, call.body)
            let reason = String((input.reason ?? "no reason given").prefix(200))
            return try AdminResponses.json(
                try backend.addBan(address: input.address, seconds: input.seconds ?? 3600, reason: reason, by: call.principal.name), status: .created)
        }
        h["bans.clear_all"] = { _ in try AdminResponses.json(["cleared": try backend.clearBans(address: nil)]) }
        h["bans.clear"] = { call in
            try AdminResponses.json(["cleared": try backend.clearBans(address: call.context.parameters.get("address") ?? "")])
        }
        h["cache.purge"] = { call in
            let input = try AdminResponses.decode(PurgeRequest.self, call.body)
            let urls = input.urls ?? []
            guard !urls.isEmpty || input.prefix != nil || input.all == true else {
                return AdminResponses.jsonError(.badRequest, "say what to purge: urls, prefix, or all: true")
            }
            return try AdminResponses.json(["purged": try await backend.purgeCache(site: input.site, urls: urls, prefix: input.prefix)])
        }
        h["cache.publish"] = { call in
            let input = try AdminResponses.decode(PublishRequest.self, call.body)
            guard !input.urls.isEmpty else { return AdminResponses.jsonError(.badRequest, "no urls to publish") }
            return try AdminResponses.json(try await backend.publish(site: input.site, urls: input.urls))
        }
        h["integrity"] = { call in try AdminResponses.json(try backend.integrityStatus(site: call.site ?? "")) }
        h["integrity.pin"] = { call in
            let input = try AdminResponses.decode(PinRequest.self, call.body)
            guard !input.paths.isEmpty, input.paths.allSatisfy({ $0.hasPrefix("/") }) else {
                return AdminResponses.jsonError(.badRequest, "give paths starting with '/'")
            }
            return try AdminResponses.json(try await backend.pin(site: input.site, paths: input.paths, depth: min(max(input.depth ?? 0, 0), 5)))
        }
        h["integrity.approve"] = { call in
            let input = try AdminResponses.decode(PathRequest.self, call.body)
            return try AdminResponses.json(try await backend.approve(site: input.site, path: input.path))
        }
        h["integrity.reject"] = { call in
            let input = try AdminResponses.decode(PathRequest.self, call.body)
            let rejected = try await backend.reject(site: input.site, path: input.path)
            return try AdminResponses.json(["rejected": rejected], status: rejected ? .ok : .notFound)
        }
        h["integrity.unpin"] = { call in
            let input = try AdminResponses.decode(PathRequest.self, call.body)
            return try AdminResponses.json(["unpinned": try await backend.unpin(site: input.site, path: input.path)])
        }
        h["integrity.scripts"] = { call in try AdminResponses.json(try backend.scripts(site: call.site ?? "")) }
        h["integrity.scripts.approve"] = { call in
            let input = try AdminResponses.decode(ApproveScriptsRequest.self, call.body)
            guard input.all == true || !(input.ids ?? []).isEmpty else { return AdminResponses.jsonError(.badRequest, "give ids, or all: true") }
            return try AdminResponses.json(["approved": try backend.approveScripts(site: input.site, ids: input.all == true ? nil : input.ids)])
        }
        h["users"] = { _ in try AdminResponses.json(try await control.accounts.list()) }
        h["users.create"] = { call in
            let input = try AdminResponses.decode(CreateUserRequest.self, call.body)
            guard let role = Role(rawValue: input.role) else {
                return AdminResponses.jsonError(.badRequest, "role is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let known = Set(backend.siteSummaries().map(\.name))
            if let unknown = (input.sites ?? []).first(where: { !known.contains($0) }) {
                return AdminResponses.jsonError(.badRequest, "no site named '\(unknown)'")
            }
            let enrollment = try await control.accounts.create(
                name: input.name, role: role, sites: input.sites ?? [], password: input.password, by: call.actor)
            return try AdminResponses.json(["user": enrollment.user, "totp_secret": enrollment.secret, "totp_uri": enrollment.uri], status: .created)
        }
        h["users.disable"] = { call in
            try await control.accounts.setDisabled(call.context.parameters.get("name") ?? "", true, by: call.actor)
            return try AdminResponses.json(["disabled": true])
        }
        h["users.enable"] = { call in
            try await control.accounts.setDisabled(call.context.parameters.get("name") ?? "", false, by: call.actor)
            return try AdminResponses.json(["disabled": false])
        }
        h["tokens"] = { _ in try AdminResponses.json(try await control.tokens.list()) }
        h["tokens.create"] = { call in
            let input = try AdminResponses.decode(CreateTokenRequest.self, call.body)
            guard let role = Role(rawValue: input.role) else {
                return AdminResponses.jsonError(.badRequest, "role is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let (token, info) = try await control.tokens.create(name: input.name, role: role, sites: input.sites ?? [], by: call.actor)
            return try AdminResponses.json(CreatedToken(token: token, id: info.id), status: .created)
        }
        h["tokens.revoke"] = { call in
            let revoked = try await control.tokens.revoke(id: call.context.parameters.get("id") ?? "", by: call.actor)
            return try AdminResponses.json(["revoked": revoked], status: revoked ? .ok : .notFound)
        }
        h["audit"] = { call in
            let limit = min(max(Int(call.query("limit") ?? "") ?? 100, 1), 1000)
            return try AdminResponses.json(try await control.audit.entries(limit: limit, before: call.query("before").flatMap { Int64($0) }))
        }
        return h
    }

    /// Stores a site setting (with its audit entry) and rebuilds the pipeline with it.
    static func setting(
        _ call: AdminCall, _ key: SiteOverrides.Key, _ value: String?, backend: any AdminBackend, control: ControlPlane
    ) async throws -> Response {
        let site = call.site ?? ""
        guard backend.siteSummaries().contains(where: { $0.name == site }) else {
            return AdminResponses.jsonError(.notFound, "no site named '\(site)'")
        }
        let changed = try await control.settings.set(site: site, key, to: value, by: call.actor)
        let result = changed ? await backend.applySettings() : nil
        if let result, !result.ok { return try AdminResponses.json(result, status: .unprocessableContent) }
        return try AdminResponses.json(
            SettingResult(site: site, key: key.rawValue, value: value, changed: changed, generation: result?.generation))
    }

    static func eventQuery(_ call: AdminCall, sites: [String]?) throws -> EventQuery {
        var query = EventQuery(sites: sites)
        query.filter = call.query("kind") ?? call.query("filter")
        if let action = call.query("action") {
            guard let parsed = SecurityEvent.Action(rawValue: action) else { throw AdminInputError("unknown action '\(action)'") }
            query.action = parsed
        }
        query.client = call.query("client")
        query.rule = call.query("rule")
        query.requestID = call.query("reference")
        query.fromMillis = try call.query("from").map { try parseTime($0) }
        query.toMillis = try call.query("to").map { try parseTime($0, endOfDay: true) }
        query.beforeID = call.query("before").flatMap { Int64($0) }
        query.limit = min(max(Int(call.query("limit") ?? "") ?? 100, 1), 1000)
        return query
    }

    /// `from`/`to` query parameters (dates or times), defaulting to the last `defaultDays` days.
    static func range(_ call: AdminCall, defaultDays: Int) throws -> (Int64, Int64) {
        let to = try call.query("to").map { try parseTime($0, endOfDay: true) } ?? (wallMillis() / 86_400_000 + 1) * 86_400_000
        let from = try call.query("from").map { try parseTime($0) } ?? to - Int64(defaultDays) * 86_400_000
        guard from < to else { throw AdminInputError("'from' must be before 'to'") }
        return (from, to)
    }

    /// `2026-11-03` (UTC day; its end with `endOfDay`), an ISO 8601 time, or milliseconds since the epoch.
    static func parseTime(_ text: String, endOfDay: Bool = false) throws -> Int64 {
        if let millis = Int64(text) { return millis }
        if let date = try? Date(text + "T00:00:00Z", strategy: .iso8601) {
            return Int64(date.timeIntervalSince1970 * 1000) + (endOfDay ? 86_400_000 : 0)
        }
        if let date = try? Date(text, strategy: .iso8601) { return Int64(date.timeIntervalSince1970 * 1000) }
        throw AdminInputError("'\(text)' is not a date (YYYY-MM-DD) or an ISO 8601 time")
    }

}

struct MeDTO: Codable {
    var name: String
    var role: String
    var sites: [String]
    var via: String
}

struct StatsDTO: Codable {
    var from: String
    var to: String
    var days: [EventCount]
    var topClients: [RankedValue]
    var topRules: [RankedValue]
    /// nil (absent) when no country database is configured.
    var topCountries: [RankedValue]?
    var sites: [AdminSite]
}

struct UnderAttackRequest: Codable {
    var on: Bool?
}

struct WAFModeRequest: Codable {
    var mode: String?
}

struct AddBanRequest: Codable {
    var address: String
    /// Default one hour; 60 s to 30 days.
    var seconds: Int?
    var reason: String?
}

struct RateLimitScaleRequest: Codable {
    var scale: Double?
}

struct WAFExclusionsRequest: Codable {
    /// A rule id as a number (942100) or text (`"942100"`, `"942100-942199"`).
    struct RuleID: Codable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                text = String(number)
            } else {
                text = try container.decode(String.self)
            }
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(text)
        }
    }

    struct Item: Codable {
        var rules: [RuleID]?
        var tags: [String]?
        var path: String?
        var arguments: [String]?
    }

    var exclusions: [Item]?
}

struct SettingResult: Codable {
    var site: String
    var key: String
    var value: String?
    var changed: Bool
    var generation: Int?
}

struct CreateUserRequest: Codable {
    var name: String
    var role: String
    var sites: [String]?
    var password: String
}

struct CreateTokenRequest: Codable {
    var name: String
    var role: String
    var sites: [String]?
}

struct CreatedToken: Codable {
    var token: String
    var id: String
}
