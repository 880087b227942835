import PnyxCore
import Foundation
import Hummingbird
import NIOCore
import PnyxControl
import Synchronization

/// Login attempts per client address: at most `limit` in `windowMillis` (then 429), on top of the per-account
/// lockout in ``Accounts``.
final class LoginThrottle: Sendable {
    let limit: Int
    let windowMillis: Int64
    private let attempts = Mutex<[String: [Int64]]>([:])

    init(limit: Int = 10, windowMillis: Int64 = 5 * 60 * 1000) {
        self.limit = limit
        self.windowMillis = windowMillis
    }

    /// Records an attempt; false when the address is over its budget.
    func allow(_ client: String, now: Int64 = wallMillis()) -> Bool {
        attempts.withLock { table in
            if table.count > 10_000 { table = table.filter { $0.value.last.map { now - $0 < windowMillis } ?? false } }
            var recent = (table[client] ?? []).filter { now - $0 < windowMillis }
            guard recent.count < limit else {
                table[client] = recent
                return false
            }
            recent.append(now)
            table[client] = recent
            return true
        }
    }
}

/// `GET/POST /login` and `POST /logout`: password and TOTP code, then a `Secure; HttpOnly; SameSite=Strict` cookie.
enum LoginPages {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static func register(_ router: Router<AdminContext>, control: ControlPlane, throttle: LoginThrottle) {
        router.get("/login") { request, context -> Response in
            if context.principal != nil { return AdminResponses.redirect(safeNext(request.uri.queryParameters.get("next").map { String($0) })) }
            return AdminResponses.html(form(next: request.uri.queryParameters.get("next").map { String($0) }, message: nil))
        }
        router.post("/login") { request, context -> Response in
            // A login form posted from another site is refused (login CSRF).
            if request.headers[.secFetchSite] == "cross-site" || !sameOrigin(request) {
                return AdminResponses.html(form(next: nil, message: "This sign-in came from another site and was refused."), status: .forbidden)
            }
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            let next = fields["next"]
            guard throttle.allow(context.client) else {
                return AdminResponses.html(form(next: next, message: "Too many sign-in attempts from your address. Wait a few minutes."), status: .tooManyRequests)
            }
            let result = try await control.accounts.login(
                name: (fields["user"] ?? "").trimmingCharacters(in: .whitespaces).lowercased(), password: fields["password"] ?? "",
                code: fields["code"] ?? "", client: context.client)
            switch result {
            case .success(let user):
                let (id, _) = try await control.sessions.start(user: user.name, client: context.client)
                var response = AdminResponses.redirect(safeNext(next))
                response.setCookie(Cookie(name: Sessions.cookieName, value: id, path: "/", secure: true, httpOnly: true, sameSite: .strict))
                return response
            case .failure:
                return AdminResponses.html(form(next: next, message: "Wrong user name, password or code."), status: .unauthorized)
            case .locked(let until):
                return AdminResponses.html(
                    form(next: next, message: "This account is locked after repeated failures until \(DashboardLayout.time(until)). Ask a state administrator if this was not you."),
                    status: .forbidden)
            }
        }
        router.post("/logout") { request, context -> Response in
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            if let id = context.sessionID, let expected = context.csrf, let presented = fields["csrf"],
                Secrets.equal(Array(presented.utf8), Array(expected.utf8))
            {
                try await control.sessions.end(id)
            }
            var response = AdminResponses.redirect("/login")
            response.setCookie(Cookie(name: Sessions.cookieName, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true, sameSite: .strict))
            return response
        }
        router.get("/assets/pnyx.css") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardStyle.css)))
        }
    }

    /// A redirect target on this origin only.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/login") else { return "/" }
        return next
    }

    /// With an `Origin` header, it must name this host.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    static func form(next: String?, message: String?) -> String {
        DashboardLayout.page(
            title: "Sign in", principal: nil, csrf: nil,
            body: """
                <section class="login"><h1>Sign in</h1>
                \(message.map { "<p class=\"bad\" role=\"alert\">\(h($0))</p>" } ?? "")
                <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value="\(h(next ?? "/"))">
                <label for="user">User name</label><input id="user" name="user" autocomplete="username" required autofocus>
                <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
                <label for="code">Code from your authenticator app</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required>
                <button>Sign in</button></form>
                <p class="muted">No account yet? A state administrator creates one with <code>pnyx admin create-user</code>.</p></section>
                """)
    }
}
