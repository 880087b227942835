import Foundation
import Hummingbird
import PnyxControl
import PnyxCore

/// A staff member's own account (change the password) and an administrator's reset of someone else's (a new
/// password and authenticator secret, shown once), from the API and the dashboard.
enum AccountHandlers {
    static func h(_ text: String) -> String { DashboardLayout.h(text) }

    static let onlySignedIn = "only a signed-in staff member changes their own password (API tokens and the root token have none)"

    static func handlers(control: ControlPlane) -> [String: AdminHandler] {
        var a: [String: AdminHandler] = [:]
        a["me.password"] = { call in
            guard call.principal.via == .session else { return AdminResponses.jsonError(.badRequest, onlySignedIn) }
            let input = try AdminResponses.decode(PasswordChangeRequest.self, call.body)
            switch try await change(call, control: control, current: input.current, code: input.code, new: input.new) {
            case .changed: return try AdminResponses.json(["changed": true])
            case .refused: return AdminResponses.jsonError(.forbidden, "the current password or the code is wrong")
            case .locked: return AdminResponses.jsonError(.forbidden, "the account is locked after too many failures; try again later")
            }
        }
        a["users.reset"] = { call in
            let name = call.context.parameters.get("name") ?? ""
            let (password, enrollment) = try await control.accounts.reset(name: name, by: call.actor)
            return try AdminResponses.json(ResetDTO(user: name, password: password, totpSecret: enrollment.secret, totpUri: enrollment.uri))
        }
        a["page.account"] = { call in
            var body = "<h1>Your account</h1><p>\(h(call.principal.name)) · \(h(call.principal.role.label))"
            body += call.principal.sites.isEmpty ? " · every site" : " · " + call.principal.sites.sorted().map(h).joined(separator: ", ")
            body += "</p>"
            if call.principal.via == .session {
                body += """
                    <section><h2>Change your password</h2>
                    <p class="muted">At least 12 characters. You need your current password and a code from your authenticator app. Your other sessions end.</p>
                    <form method="post" action="/account/password" class="stack">
                    <input type="hidden" name="csrf" value="\(h(call.context.csrf ?? ""))">
                    <label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
                    <label>New password <input type="password" name="new" autocomplete="new-password" minlength="12" required></label>
                    <label>New password again <input type="password" name="again" autocomplete="new-password" minlength="12" required></label>
                    <label>Code from your authenticator app <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required></label>
                    <button id="change-password">Change password</button>
                    </form></section>
                    """
            } else {
                body += "<p class=\"muted\">\(h(onlySignedIn)).</p>"
            }
            body += "<p class=\"muted\">Lost your authenticator or forgot your password? A state administrator can reset your account from the Users page.</p>"
            return AdminResponses.html(DashboardLayout.page(title: "Your account", principal: call.principal, csrf: call.context.csrf, body: body))
        }
        a["page.account.password"] = { call in
            guard call.principal.via == .session else { throw AdminInputError(onlySignedIn) }
            let form = call.form
            guard let new = form["new"], new == form["again"] else { throw AdminInputError("the two new passwords differ") }
            let outcome = try await change(call, control: control, current: form["current"] ?? "", code: form["code"] ?? "", new: new)
            let message: String
            switch outcome {
            case .changed: message = "<p class=\"good\" id=\"password-changed\">Your password is changed. Your other sessions have ended.</p>"
            case .refused: message = "<p class=\"bad\" id=\"password-refused\">The current password or the code is wrong. Nothing was changed.</p>"
            case .locked: message = "<p class=\"bad\">The account is locked after too many failures; try again later.</p>"
            }
            let body = "<h1>Your account</h1>\(message)<p><a href=\"/account\">Back</a></p>"
            return AdminResponses.html(
                DashboardLayout.page(title: "Your account", principal: call.principal, csrf: call.context.csrf, body: body),
                status: outcome == .changed ? .ok : .forbidden)
        }
        a["page.users.reset"] = { call in
            let name = call.context.parameters.get("name") ?? ""
            let (password, enrollment) = try await control.accounts.reset(name: name, by: call.actor)
            var body = "<h1>Account reset: \(h(name))</h1>"
            body += "<p>Give these to \(h(name)) in person or by phone, not by email. They are shown once. \(h(name))'s sessions have ended; the old password and authenticator no longer work.</p>"
            body += "<dl class=\"secret\"><dt>New password</dt><dd><code id=\"reset-password\">\(h(password))</code></dd>"
            body += "<dt>Authenticator secret</dt><dd><code id=\"reset-secret\">\(h(enrollment.secret))</code></dd>"
            body += "<dt>Or scan</dt><dd>\(QRCode.svg(enrollment.uri) ?? "<code>\(h(enrollment.uri))</code>")</dd></dl>"
            body += "<p><a href=\"/users\">Back to users</a></p>"
            return AdminResponses.html(DashboardLayout.page(title: "Account reset", principal: call.principal, csrf: call.context.csrf, body: body))
        }
        return a
    }

    static func change(
        _ call: AdminCall, control: ControlPlane, current: String, code: String, new: String
    ) async throws -> Accounts.PasswordChange {
        do {
            return try await control.accounts.changePassword(
                name: call.principal.name, current: current, code: code, new: new, client: call.context.client,
                keepingSession: call.context.sessionID)
        } catch let error as AccountError {
            throw AdminInputError(error.message)
        }
    }
}

struct PasswordChangeRequest: Codable {
    var current: String
    var code: String
    var new: String
}

struct ResetDTO: Codable {
    var user: String
    var password: String
    var totpSecret: String
    var totpUri: String
}
