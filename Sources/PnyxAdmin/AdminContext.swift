import Hummingbird
import NIOCore
import PnyxControl

/// The admin listener's per-request context: who is asking (after ``AuthenticationMiddleware``) and from where.
public struct AdminContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (the admin listener is not behind a proxy).
    public let client: String
    public var principal: Principal?
    /// The session's CSRF token, for a request authenticated by the session cookie.
    public var csrf: String?
    /// The session cookie's value, for logout.
    public var sessionID: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.client = source.channel.remoteAddress?.ipAddress ?? "-"
    }

    public var maxUploadSize: Int { 1 << 20 }
}

/// Resolves who is asking: `Authorization: Bearer` with the local admin token (root) or an API token, or the
/// dashboard's session cookie. Routes decide what that principal may do (``AdminRouteSpec``).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    let root: AdminToken
    let control: ControlPlane

    func handle(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else { return AdminResponses.jsonError(.unauthorized, "use Authorization: Bearer <token>") }
            let presented = header.dropFirst("Bearer ".count)
            if root.matches(presented) {
                context.principal = .root
            } else if let principal = try await control.tokens.resolve(String(presented)) {
                context.principal = principal
            } else {
                return AdminResponses.jsonError(.unauthorized, "unknown or revoked token")
            }
        } else if let id = request.cookies[Sessions.cookieName]?.value, !id.isEmpty {
            if let session = try await control.sessions.resolve(id) {
                context.principal = session.user.principal
                context.csrf = session.csrf
                context.sessionID = id
            }
        }
        return try await next(request, context)
    }
}
