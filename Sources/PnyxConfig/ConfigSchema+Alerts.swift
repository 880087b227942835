import PnyxCore
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The top-level `alerts:` section.
extension ConfigSchema {
    static let alertKeys = ["node", "repeat_window", "smtp", "spike", "destinations"]
    static let smtpKeys = ["server", "security", "username", "password_file", "from", "ca_file"]
    static let spikeKeys = ["window", "baseline", "factor", "minimum", "cooldown"]
    static let destinationKeys = ["webhook", "secret", "secret_file", "email", "sites", "kinds", "severity"]

    func alerts(_ map: ConfigMap, siteNames: Set<String>) -> AlertSettings {
        defer { map.finish(allowed: Self.alertKeys) }
        var settings = AlertSettings()
        if let node = map.string("node") { settings.node = node }
        if let window = map.duration("repeat_window") { settings.repeatWindow = positive(window, map, "repeat_window") }
        if let smtp = map.map("smtp") { settings.smtp = smtpSettings(smtp) }
        if let node = map.value("spike") { settings.spike = spike(node, path: "alerts.spike") }
        if let node = map.value("destinations") {
            guard case .sequence(let items) = node else {
                diagnostics.error("expected a list of destinations, each a webhook or an email", at: node, key: "alerts.destinations")
                return settings
            }
            for (index, item) in items.enumerated() {
                let path = "alerts.destinations[\(index)]"
                guard let entry = ConfigMap(item, path: path, diagnostics: diagnostics) else { continue }
                if let destination = destination(entry, path: path, siteNames: siteNames) {
                    if case .email = destination.target, settings.smtp == nil {
                        diagnostics.error("an email destination needs alerts.smtp (server and from)", at: item, key: path)
                    }
                    settings.destinations.append(destination)
                }
            }
        }
        return settings
    }

    private func smtpSettings(_ map: ConfigMap) -> SMTPSettings? {
        defer { map.finish(allowed: Self.smtpKeys) }
        let path = map.path
        guard let serverText = map.string("server") else {
            diagnostics.error("missing 'server', e.g. smtp.example.gov:587", at: map.node, key: "\(path).server")
            return nil
        }
        var security = SMTPSettings.Security.starttls
        if let text = map.string("security") {
            if let value = SMTPSettings.Security(rawValue: text) {
                security = value
            } else {
                diagnostics.error(
                    "expected starttls, tls or none, got '\(text)'", at: map.value("security"), key: "\(path).security")
            }
        }
        let defaultPort = security == .tls ? 465 : (security == .starttls ? 587 : 25)
        let server: ListenAddress? =
            serverText.contains(":") ? ListenAddress(parsing: serverText) : ListenAddress(parsing: "\(serverText):\(defaultPort)")
        guard let server else {
            diagnostics.error("expected host or host:port, got '\(serverText)'", at: map.value("server"), key: "\(path).server")
            return nil
        }
        guard let from = map.string("from") else {
            diagnostics.error("missing 'from', the sender address", at: map.node, key: "\(path).from")
            return nil
        }
        if !Self.isMailAddress(from) {
            diagnostics.error("expected an email address, got '\(from)'", at: map.value("from"), key: "\(path).from")
        }
        var settings = SMTPSettings(host: server.host, port: server.port, security: security, from: from)
        settings.username = map.string("username")
        if let file = map.string("password_file") {
            settings.password = secret(fromFile: file, node: map.value("password_file"), key: "\(path).password_file")
        }
        if settings.username != nil && settings.password == nil {
            diagnostics.error("a username needs password_file", at: map.value("username"), key: "\(path).username")
        }
        if settings.username != nil && security == .none {
            diagnostics.error(
                "refusing to send a password without TLS: use security: starttls or tls", at: map.value("security") ?? map.node,
                key: "\(path).security")
        }
        if let ca = map.string("ca_file") {
            let resolved = resolve(ca)
            if access(resolved, R_OK) != 0 {
                diagnostics.error("cannot read '\(resolved)'", at: map.value("ca_file"), key: "\(path).ca_file")
            }
            settings.caFile = resolved
        }
        return settings
    }

    private func spike(_ node: Node, path: String) -> SpikePolicy {
        var policy = SpikePolicy()
        let section = offOrMap(node, path: path, example: "{ window: 5m, factor: 5, minimum: 100 }")
        policy.enabled = section.enabled
        guard let map = section.map else { return policy }
        defer { map.finish(allowed: Self.spikeKeys) }
        if let v = map.duration("window") { policy.window = positive(v, map, "window") }
        if let v = map.duration("baseline") { policy.baseline = positive(v, map, "baseline") }
        if let v = map.duration("cooldown") { policy.cooldown = v }
        if let v = map.int("minimum", range: 1...100_000_000) { policy.minimum = v }
        if let item = map.value("factor"), let text = ConfigMap.string(item, path: "\(path).factor", diagnostics: diagnostics) {
            if let value = Double(text), value >= 1, value <= 1000 {
                policy.factor = value
            } else {
                diagnostics.error("expected a number from 1 to 1000, got '\(text)'", at: item, key: "\(path).factor")
            }
        }
        if policy.baseline < policy.window * 2 {
            diagnostics.error(
                "the baseline must cover at least two windows", at: map.value("baseline") ?? map.node, key: "\(path).baseline")
        }
        return policy
    }

    private func destination(_ map: ConfigMap, path: String, siteNames: Set<String>) -> AlertDestination? {
        defer { map.finish(allowed: Self.destinationKeys) }
        let target: AlertDestination.Target
        switch (map.has("webhook"), map.has("email")) {
        case (true, false):
            guard let url = map.string("webhook") else { return nil }
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8 else {
                diagnostics.error("expected an http:// or https:// URL, got '\(url)'", at: map.value("webhook"), key: "\(path).webhook")
                return nil
            }
            var secret: String?
            if let file = map.string("secret_file") {
                secret = self.secret(fromFile: file, node: map.value("secret_file"), key: "\(path).secret_file")
            } else if let text = map.string("secret") {
                secret = text
            }
            guard let secret, secret.utf8.count >= 16 else {
                diagnostics.error(
                    "a webhook needs secret_file (or secret) of at least 16 characters to sign its alerts",
                    at: map.value("secret_file") ?? map.value("secret") ?? map.node, key: "\(path).secret_file")
                return nil
            }
            target = .webhook(url: url, secret: secret)
        case (false, true):
            guard let node = map.value("email") else { return nil }
            var to: [String] = []
            if case .scalar(let scalar) = node {
                to = [scalar.string]
            } else if let list = ConfigMap.stringList(node, path: "\(path).email", diagnostics: diagnostics) {
                to = list.map(\.0)
            }
            for address in to where !Self.isMailAddress(address) {
                diagnostics.error("expected an email address, got '\(address)'", at: node, key: "\(path).email")
            }
            guard !to.isEmpty else {
                diagnostics.error("give at least one address", at: node, key: "\(path).email")
                return nil
            }
            target = .email(to: to)
        default:
            diagnostics.error("give exactly one of webhook: URL or email: ADDRESSES", at: map.node, key: path)
            return nil
        }
        var destination = AlertDestination(target: target)
        if let list = map.stringList("sites") {
            for (name, node) in list where !siteNames.contains(name) {
                diagnostics.error("no site is named '\(name)'", at: node, key: "\(path).sites")
            }
            destination.sites = list.map(\.0)
        }
        if let list = map.stringList("kinds") {
            var kinds = Set<AlertKind>()
            for (name, node) in list {
                if let kind = AlertKind(rawValue: name), kind != .test {
                    kinds.insert(kind)
                } else {
                    diagnostics.error("expected spike, origin, integrity or posture, got '\(name)'", at: node, key: "\(path).kinds")
                }
            }
            destination.kinds = kinds
        }
        if let text = map.string("severity") {
            if let severity = AlertSeverity(name: text) {
                destination.minimumSeverity = severity
            } else {
                diagnostics.error("expected info, warning or critical, got '\(text)'", at: map.value("severity"), key: "\(path).severity")
            }
        }
        return destination
    }

    /// The first line of a file holding a secret (a webhook key, a mail password).
    func secret(fromFile file: String, node: Node?, key: String) -> String? {
        let resolved = resolve(file)
        guard let text = ConfigLoader.readFile(resolved) else {
            diagnostics.error("cannot read '\(resolved)'", at: node, key: key)
            return nil
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let trimmed = line.trimmingCharacters(in: " ").trimmingCharacters(in: "\r")
        if trimmed.isEmpty { diagnostics.error("'\(resolved)' is empty", at: node, key: key) }
        return trimmed.isEmpty ? nil : trimmed
    }

    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else {
            return false
        }
        return !text.contains { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == "," }
    }
}
