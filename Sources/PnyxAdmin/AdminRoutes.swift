import Foundation
import Hummingbird
import NIOCore
import PnyxControl

/// One admin route: what it needs and where its site comes from. Every API route and dashboard page is in
/// ``AdminRoutes/all``; the server registers exactly these, each behind ``AdminRoutes/guarded``, and the tests
/// walk the same table (a county administrator must get 403 for another county's site on every route).
public struct AdminRouteSpec: Sendable, Hashable, CustomStringConvertible {
    public enum SiteSource: Sendable, Hashable {
        /// The route is not about one site (lists are narrowed to the principal's sites by the handler).
        case none
        /// `?site=` narrows the answer; without it, the principal's sites.
        case optionalQuery
        /// `?site=` is required.
        case query
        /// The `:site` path parameter.
        case path
        /// `"site"` in the JSON (or form) body.
        case body
    }
    public enum Kind: Sendable, Hashable { case api, page }

    public let name: String
    public let method: HTTPRequest.Method
    public let path: String
    public let permission: Permission
    public let site: SiteSource
    public let kind: Kind
    /// Whether the guard writes the audit entry for a successful call (false when the handler records a richer
    /// one itself, with before and after).
    public let auditedByGuard: Bool

    init(_ name: String, _ method: HTTPRequest.Method, _ path: String, _ permission: Permission, site: SiteSource = .none, kind: Kind = .api, audit: Bool = true) {
        self.name = name
        self.method = method
        self.path = path
        self.permission = permission
        self.site = site
        self.kind = kind
        self.auditedByGuard = audit && method != .get
    }

    public var description: String { "\(method) \(path)" }
    public var changes: Bool { method != .get && method != .head }
}

/// What a route's handler gets once the guard let the call through.
public struct AdminCall: Sendable {
    public let request: Request
    public let context: AdminContext
    public let principal: Principal
    /// The request body, read up to 1 MiB (empty for GET).
    public let body: ByteBuffer
    /// The site the route is about, as the guard resolved (and authorized) it.
    public let site: String?

    public var actor: Actor { Actor(principal, client: context.client) }
    public var form: [String: String] { FormBody.parse(body) }
    /// A query parameter; empty counts as absent (the dashboard's filter form sends empty fields).
    public func query(_ name: String) -> String? {
        guard let value = request.uri.queryParameters.get(name), !value.isEmpty else { return nil }
        return String(value)
    }

    /// The sites a list may show: the one asked for, or every site the principal sees.
    public func visibleSites(all: [String]) -> [String] {
        if let site { return [site] }
        return all.filter(principal.canSee)
    }
}

public typealias AdminHandler = @Sendable (AdminCall) async throws -> Response

public enum AdminRoutes {
    public static let all: [AdminRouteSpec] = [
        // API
        .init("status", .get, "/api/v1/status", .read),
        .init("me", .get, "/api/v1/me", .read),
        .init("me.password", .post, "/api/v1/me/password", .read, audit: false),
        .init("reload", .post, "/api/v1/reload", .administer),
        .init("events", .get, "/api/v1/events", .read, site: .optionalQuery),
        .init("stats", .get, "/api/v1/stats", .read, site: .optionalQuery),
        .init("sites", .get, "/api/v1/sites", .read),
        .init("site.under_attack", .post, "/api/v1/sites/:site/under-attack", .operate, site: .path, audit: false),
        .init("site.waf_mode", .post, "/api/v1/sites/:site/waf-mode", .operate, site: .path, audit: false),
        .init("site.rate_limit_scale", .post, "/api/v1/sites/:site/rate-limit-scale", .operate, site: .path, audit: false),
        .init("site.waf_exclusions", .post, "/api/v1/sites/:site/waf-exclusions", .operate, site: .path, audit: false),
        .init("bans", .get, "/api/v1/bans", .read),
        .init("bans.add", .post, "/api/v1/bans", .administer),
        .init("bans.clear_all", .delete, "/api/v1/bans", .administer),
        .init("bans.clear", .delete, "/api/v1/bans/:address", .administer),
        .init("cache.purge", .post, "/api/v1/cache/purge", .operate, site: .body),
        .init("cache.publish", .post, "/api/v1/cache/publish", .operate, site: .body),
        .init("integrity", .get, "/api/v1/integrity", .read, site: .query),
        .init("integrity.pin", .post, "/api/v1/integrity/pin", .operate, site: .body),
        .init("integrity.approve", .post, "/api/v1/integrity/approve", .operate, site: .body),
        .init("integrity.reject", .post, "/api/v1/integrity/reject", .operate, site: .body),
        .init("integrity.unpin", .post, "/api/v1/integrity/unpin", .operate, site: .body),
        .init("integrity.scripts", .get, "/api/v1/integrity/scripts", .read, site: .query),
        .init("integrity.scripts.approve", .post, "/api/v1/integrity/scripts/approve", .operate, site: .body),
        .init("users", .get, "/api/v1/users", .administer),
        .init("users.create", .post, "/api/v1/users", .administer, audit: false),
        .init("users.disable", .post, "/api/v1/users/:name/disable", .administer, audit: false),
        .init("users.enable", .post, "/api/v1/users/:name/enable", .administer, audit: false),
        .init("users.reset", .post, "/api/v1/users/:name/reset", .administer, audit: false),
        .init("tokens", .get, "/api/v1/tokens", .administer),
        .init("tokens.create", .post, "/api/v1/tokens", .administer, audit: false),
        .init("tokens.revoke", .delete, "/api/v1/tokens/:id", .administer, audit: false),
        .init("audit", .get, "/api/v1/audit", .administer),
        .init("report", .get, "/api/v1/report", .read, site: .optionalQuery),
        .init("alerts", .get, "/api/v1/alerts", .read, site: .optionalQuery),
        .init("alerts.test", .post, "/api/v1/alerts/test", .administer),
        // Dashboard
        .init("page.overview", .get, "/", .read, kind: .page),
        .init("page.site", .get, "/sites/:site", .read, site: .path, kind: .page),
        .init("page.site.under_attack", .post, "/sites/:site/under-attack", .operate, site: .path, kind: .page, audit: false),
        .init("page.site.purge", .post, "/sites/:site/purge", .operate, site: .path, kind: .page),
        .init("page.site.publish", .post, "/sites/:site/publish", .operate, site: .path, kind: .page),
        .init("page.site.rate_limit_scale", .post, "/sites/:site/rate-limit-scale", .operate, site: .path, kind: .page, audit: false),
        .init("page.site.integrity", .get, "/sites/:site/integrity", .read, site: .path, kind: .page),
        .init("page.site.integrity.approve", .post, "/sites/:site/integrity/approve", .operate, site: .path, kind: .page),
        .init("page.site.integrity.reject", .post, "/sites/:site/integrity/reject", .operate, site: .path, kind: .page),
        .init("page.site.scripts.approve", .post, "/sites/:site/scripts/approve", .operate, site: .path, kind: .page),
        .init("page.events", .get, "/events", .read, site: .optionalQuery, kind: .page),
        .init("page.event", .get, "/events/:id", .read, kind: .page),
        .init("page.report", .get, "/reports", .read, site: .optionalQuery, kind: .page),
        .init("page.alerts", .get, "/alerts", .read, site: .optionalQuery, kind: .page),
        .init("page.alerts.test", .post, "/alerts/test", .administer, kind: .page),
        .init("page.audit", .get, "/audit", .administer, kind: .page),
        .init("page.users", .get, "/users", .administer, kind: .page),
        .init("page.users.reset", .post, "/users/:name/reset", .administer, kind: .page, audit: false),
        .init("page.account", .get, "/account", .read, kind: .page),
        .init("page.account.password", .post, "/account/password", .read, kind: .page, audit: false),
    ]

    /// Checks who is asking against the route's permission and site, reads the body, enforces CSRF for session
    /// calls that change something, runs the handler, and records successful changes in the audit log.
    static func guarded(_ spec: AdminRouteSpec, _ handler: @escaping AdminHandler, control: ControlPlane) -> @Sendable (Request, AdminContext) async throws -> Response {
        { request, context in
            guard let principal = context.principal else {
                if spec.kind == .page {
                    let next = request.uri.path == "/" ? "" : "?next=\(request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_."))) ?? "")"
                    return AdminResponses.redirect("/login\(next)")
                }
                return AdminResponses.jsonError(.unauthorized, "sign in, or give Authorization: Bearer <token>")
            }
            var body = ByteBuffer()
            if spec.changes {
                body = try await request.body.collect(upTo: 1 << 20)
                if principal.via == .session {
                    if request.headers[.secFetchSite] == "cross-site" {
                        return refusal(spec, .forbidden, "cross-site request refused")
                    }
                    let presented = request.headers[.xCSRFToken] ?? FormBody.parse(body)["csrf"]
                    guard let presented, let expected = context.csrf,
                        Secrets.equal(Array(presented.utf8), Array(expected.utf8))
                    else { return refusal(spec, .forbidden, "missing or wrong CSRF token (reload the page and try again)") }
                }
            }
            let site: String?
            switch spec.site {
            case .none: site = nil
            case .optionalQuery, .query: site = request.uri.queryParameters.get("site").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
            case .path: site = context.parameters.get("site")
            case .body: site = siteInBody(body)
            }
            if site == nil && (spec.site == .query || spec.site == .path || spec.site == .body) {
                return refusal(spec, .badRequest, "say which site (\"site\")")
            }
            guard principal.allows(spec.permission, site: site) else {
                return refusal(spec, .forbidden, site.map { "\(principal.name) may not \(spec.permission.rawValue) site '\($0)'" }
                    ?? "\(principal.name) may not do this (needs \(spec.permission.rawValue))")
            }
            let call = AdminCall(request: request, context: context, principal: principal, body: body, site: site)
            let response: Response
            do {
                response = try await handler(call)
            } catch let error as AccountError {
                response = refusal(spec, .badRequest, error.message)
            } catch let error as AdminInputError {
                response = refusal(spec, .badRequest, error.message)
            }
            if spec.auditedByGuard, (200..<400).contains(response.status.code) {
                try await control.audit.append(
                    call.actor, action: spec.name, target: site.map { "site:\($0)" } ?? "-", before: "",
                    after: summary(of: body))
            }
            return response
        }
    }

    static func refusal(_ spec: AdminRouteSpec, _ status: HTTPResponse.Status, _ message: String) -> Response {
        spec.kind == .page ? AdminResponses.html(DashboardLayout.errorPage(status: status, message: message), status: status)
            : AdminResponses.jsonError(status, message)
    }

    /// `site` from a JSON object or a form body.
    static func siteInBody(_ body: ByteBuffer) -> String? {
        if let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] {
            return object["site"] as? String
        }
        return FormBody.parse(body)["site"]
    }

    /// What the audit log keeps of a request body: short, never a password or a CSRF token.
    static func summary(of body: ByteBuffer) -> String {
        guard body.readableBytes > 0 else { return "" }
        if var object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] {
            object["password"] = nil
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                return String(decoding: data.prefix(500), as: UTF8.self)
            }
        }
        var form = FormBody.parse(body)
        form["csrf"] = nil
        form["password"] = nil
        return String(form.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ").prefix(500))
    }
}
