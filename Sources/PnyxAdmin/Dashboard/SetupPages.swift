import Hummingbird
import NIOCore
import PnyxControl

/// `GET/POST /setup?token=…`: the one-time link `pnyx serve` prints while no account exists. It creates the first
/// state administrator and shows the TOTP secret to enrol once; then the link is spent.
enum SetupPages {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static func register(_ router: Router<AdminContext>, control: ControlPlane, throttle: LoginThrottle) {
        router.get("/setup") { request, _ -> Response in
            let token = request.uri.queryParameters.get("token").map { String($0) } ?? ""
            guard try await control.setup.isValid(token) else { return invalid() }
            return AdminResponses.html(form(token: token, message: nil))
        }
        router.post("/setup") { request, context -> Response in
            if request.headers[.secFetchSite] == "cross-site" || !LoginPages.sameOrigin(request) {
                return AdminResponses.html(DashboardLayout.errorPage(status: .forbidden, message: "This form came from another site and was refused."), status: .forbidden)
            }
            guard throttle.allow(context.client) else {
                return AdminResponses.html(DashboardLayout.errorPage(status: .tooManyRequests, message: "Too many attempts from your address. Wait a few minutes."), status: .tooManyRequests)
            }
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            let token = fields["token"] ?? ""
            let name = (fields["user"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let password = fields["password"] ?? ""
            guard password == fields["confirm"] else { return AdminResponses.html(form(token: token, message: "The two passwords differ."), status: .badRequest) }
            do {
                let enrollment = try await control.setup.redeem(token, name: name, password: password, client: context.client)
                return AdminResponses.html(enrolled(enrollment))
            } catch let error as AccountError {
                guard try await control.setup.isValid(token) else { return invalid() }
                return AdminResponses.html(form(token: token, message: error.message), status: .badRequest)
            }
        }
    }

    static func invalid() -> Response {
        AdminResponses.html(
            DashboardLayout.errorPage(
                status: .notFound,
                message: "This setup link is not valid: it was used, it expired (after a day), a newer one replaced it, or an account exists already. Restart pnyx for a new link while no account exists, or create one with pnyx admin create-user."),
            status: .notFound)
    }

    static func form(token: String, message: String?) -> String {
        DashboardLayout.page(
            title: "Set up Pnyx", principal: nil, csrf: nil,
            body: """
                <section class="login"><h1>Set up Pnyx</h1>
                <p>Create the first <strong>state administrator</strong>. This link works once.</p>
                \(message.map { "<p class=\"bad\" role=\"alert\">\(h($0))</p>" } ?? "")
                <form method="post" action="/setup" class="stack">
                <input type="hidden" name="token" value="\(h(token))">
                <label for="user">User name</label><input id="user" name="user" autocomplete="username" required autofocus>
                <label for="password">Password (12 characters or more)</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
                <label for="confirm">The same password again</label>
                <input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="12" required>
                <button>Create the account</button></form></section>
                """)
    }

    static func enrolled(_ enrollment: Enrollment) -> String {
        DashboardLayout.page(
            title: "Account created", principal: nil, csrf: nil,
            body: """
                <section class="login"><h1>Account created</h1>
                <p>Add <strong>\(h(enrollment.user))</strong> to your authenticator app (any TOTP app) now: this page is shown once.</p>
                <p>Scan this with the app:</p>\(QRCode.svg(enrollment.uri) ?? "")
                <p>Or type in the secret: <code id="totp-secret">\(h(enrollment.secret))</code></p>
                <p>Or as a link: <code>\(h(enrollment.uri))</code></p>
                <p><a href="/login">Sign in</a> with your user name, password and the app's code.</p></section>
                """)
    }
}
