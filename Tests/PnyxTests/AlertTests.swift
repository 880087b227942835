import Foundation
import Testing
@testable import PnyxAlerts
@testable import PnyxConfig
import PnyxCore

/// Alerts without a network: what is an alert, spikes against a rolling baseline, holding back repeats, routing,
/// the webhook signature, the email's form and the `alerts:` configuration.
@Suite("Alerts")
struct AlertTests {
    static let minute: Int64 = 60_000
    static let t0: Int64 = 1_800_000_000_000 / minute * minute

    static func event(_ filter: String, _ rule: String, site: String = "county", path: String = "/", evidence: String = "", at millis: Int64 = t0) -> SecurityEvent {
        SecurityEvent(
            timeMillis: millis, site: site, client: "-", filter: filter, rule: rule, action: .alert, method: "GET", path: path,
            evidence: evidence, requestID: "-")
    }

    @Test("a flood well above the site's baseline raises one spike alert, then one 'spike over' when it ends")
    func spikeAgainstBaseline() {
        var engine = AlertEngine()
        var settings = AlertSettings()
        settings.spike.minimum = 50
        var alerts: [Alert] = []
        // An hour of the usual background: 10 refusals a minute (50 per 5-minute window).
        for m in 0..<60 {
            alerts += engine.take(refused: [("county", 10)], nowMillis: Self.t0 + Int64(m) * Self.minute, settings: settings, node: "n1")
        }
        #expect(alerts.isEmpty, "steady traffic is not a spike: \(alerts.map(\.title))")
        // 300 in a minute: over 5 × 50 = 250.
        alerts = engine.take(refused: [("county", 300)], nowMillis: Self.t0 + 60 * Self.minute, settings: settings, node: "n1")
        #expect(alerts.count == 1)
        let spike = alerts.first
        #expect(spike?.kind == .spike && spike?.severity == .warning && spike?.site == "county" && spike?.node == "n1")
        #expect(spike?.title.contains("340") == true, "the window holds the 4 previous minutes' 40 and the 300: \(spike?.title ?? "")")
        // More of the attack: no repeat.
        for m in 61..<64 {
            alerts = engine.take(refused: [("county", 300)], nowMillis: Self.t0 + Int64(m) * Self.minute, settings: settings, node: "n1")
            #expect(alerts.isEmpty)
        }
        // The attack stops; once the 5-minute window is clear of it, the spike ends once.
        var ended: [Alert] = []
        for m in 64..<75 {
            ended += engine.take(refused: [], nowMillis: Self.t0 + Int64(m) * Self.minute, settings: settings, node: "n1")
        }
        #expect(ended.count == 1)
        #expect(ended.first?.severity == .info && ended.first?.title == "Spike over at county")
        #expect(ended.first?.detail.contains("1240 refused requests") == true, "\(ended.first?.detail ?? "")")
        // A new burst inside the 30-minute cool-down is not announced again.
        let again = engine.take(refused: [("county", 2000)], nowMillis: Self.t0 + 76 * Self.minute, settings: settings, node: "n1")
        #expect(again.isEmpty)
    }

    @Test("a burst below the minimum is not a spike, however quiet the site was; another site's spike is its own")
    func spikeMinimumAndSites() {
        var engine = AlertEngine()
        var settings = AlertSettings()
        settings.spike.minimum = 100
        // A site's first window after start is never a spike: the baseline needs a whole minute before it.
        for m in 0..<7 {
            #expect(engine.take(refused: [("county", 0), ("boone", 0)], nowMillis: Self.t0 + Int64(m) * Self.minute, settings: settings, node: "").isEmpty)
        }
        let now = Self.t0 + 7 * Self.minute
        #expect(engine.take(refused: [("county", 99)], nowMillis: now, settings: settings, node: "").isEmpty)
        let alerts = engine.take(refused: [("county", 0), ("boone", 100)], nowMillis: now + 1000, settings: settings, node: "")
        #expect(alerts.map(\.site) == ["boone"])
        settings.spike.enabled = false
        #expect(engine.take(refused: [("county", 10_000)], nowMillis: now + 2000, settings: settings, node: "").isEmpty)
    }

    @Test("origin, posture and integrity events are alerts with the right severity; refusals and WAF findings are not")
    func classification() {
        var engine = AlertEngine()
        let settings = AlertSettings()
        let alerts = engine.take(
            events: [
                Self.event("health", "origin_down", evidence: "127.0.0.1:9 fails its health check"),
                Self.event("health", "origin_up"),
                Self.event("escalation", "posture", evidence: "normal → elevated: rate 5× baseline"),
                Self.event("escalation", "posture", evidence: "elevated → normal: calm"),
                Self.event("integrity", "changed", path: "/results"),
                Self.event("integrity", "new_script", evidence: "new external script https://cdn.example/x.js"),
                Self.event("integrity", "unchecked"),
                Self.event("waf", "942100"),
                Self.event("rate_limit", "ip"),
            ], settings: settings, node: "")
        #expect(alerts.map(\.kind) == [.origin, .origin, .posture, .posture, .integrity, .integrity])
        #expect(alerts.map(\.severity) == [.critical, .info, .warning, .info, .critical, .warning])
        #expect(alerts[0].title == "Origin down at county" && alerts[0].detail.contains("127.0.0.1:9 fails"))
        #expect(Set(alerts.map(\.id)).count == alerts.count)
    }

    @Test("the same integrity alert repeats at most once per window; the next one sent counts those held back")
    func repeatsHeldBack() {
        var engine = AlertEngine()
        var settings = AlertSettings()
        settings.repeatWindow = .seconds(600)
        var sent: [Alert] = []
        for i in 0..<4 {
            sent += engine.take(events: [Self.event("integrity", "changed", path: "/results", at: Self.t0 + Int64(i) * 1000)], settings: settings, node: "")
        }
        sent += engine.take(events: [Self.event("integrity", "changed", path: "/other", at: Self.t0 + 5000)], settings: settings, node: "")
        #expect(sent.count == 2, "one per page")
        let later = engine.take(
            events: [Self.event("integrity", "changed", path: "/results", at: Self.t0 + 601_000)], settings: settings, node: "")
        #expect(later.count == 1 && later.first?.suppressed == 3)
        // Origin transitions are never held back: each is news.
        let flaps = engine.take(
            events: [Self.event("health", "origin_down"), Self.event("health", "origin_up"), Self.event("health", "origin_down")],
            settings: settings, node: "")
        #expect(flaps.count == 3)
    }

    @Test("a destination gets only its sites, kinds and severities; a test alert goes everywhere")
    func routing() {
        let county = AlertDestination(target: .email(to: ["it@county.example"]), sites: ["county"], kinds: [.origin, .integrity], minimumSeverity: .warning)
        #expect(county.wants(site: "county", kind: .origin, severity: .critical))
        #expect(!county.wants(site: "boone", kind: .origin, severity: .critical))
        #expect(!county.wants(site: "county", kind: .spike, severity: .critical))
        #expect(!county.wants(site: "county", kind: .origin, severity: .info))
        #expect(county.wants(site: "", kind: .test, severity: .info))
        #expect(AlertDestination(target: .webhook(url: "https://x.example/h", secret: "s")).label == "webhook https://x.example/h")
    }

    @Test("the webhook signature is HMAC-SHA256 over 't.body' (matches Python's hmac), and a receiver's check refuses tampering and replays")
    func webhookSignature() {
        let body = Data(#"{"id":"x"}"#.utf8)
        let secret = "0123456789abcdef-secret"
        let header = WebhookSignature.sign(body: body, secret: secret, unixSeconds: 1_700_000_000)
        // python3 -c "import hmac,hashlib; print(hmac.new(b'0123456789abcdef-secret', b'1700000000.{\"id\":\"x\"}', hashlib.sha256).hexdigest())"
        #expect(header == "t=1700000000,v1=e83bb0935e7b1db314f673eb7e104265702860cb3dd80ea6e7a2f7cdc1cacd56")
        #expect(WebhookSignature.verify(header: header, body: body, secret: secret, nowSeconds: 1_700_000_100))
        #expect(!WebhookSignature.verify(header: header, body: Data(#"{"id":"y"}"#.utf8), secret: secret, nowSeconds: 1_700_000_100))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "another secret here", nowSeconds: 1_700_000_100))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: secret, nowSeconds: 1_700_000_000 + 301))
    }

    @Test("the webhook body is the documented JSON")
    func webhookBody() throws {
        let alert = Alert(id: "abc", timeMillis: 1_700_000_000_000, kind: .origin, severity: .critical, site: "county", title: "Origin down at county", detail: "d", suppressed: 2, node: "edge-1")
        let object = try #require(try JSONSerialization.jsonObject(with: alert.json()) as? [String: Any])
        #expect(object["id"] as? String == "abc" && object["time"] as? String == "2023-11-14T22:13:20Z")
        #expect(object["kind"] as? String == "origin" && object["severity"] as? String == "critical" && object["site"] as? String == "county")
        #expect(object["suppressed"] as? Int == 2 && object["node"] as? String == "edge-1")
    }

    @Test("the email is RFC 5322 with CRLF lines, a dot-stuffed body, an encoded non-ASCII subject, and ends with a lone dot")
    func mailMessage() {
        var alert = Alert(id: "abc", timeMillis: 1_700_000_000_000, kind: .posture, severity: .warning, site: "county", title: "county escalated its posture", detail: ".starts with a dot", node: "edge-1")
        var data = MailMessage.data(for: alert, from: "pnyx@county.example", to: ["a@county.example", "b@county.example"], messageDomain: "county.example")
        #expect(data.hasPrefix("From: Pnyx <pnyx@county.example>\r\nTo: a@county.example, b@county.example\r\nSubject: [Pnyx warning] county escalated its posture\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"))
        #expect(data.contains("\r\n..starts with a dot\r\n"))
        #expect(data.hasSuffix("\r\n.\r\n"))
        #expect(!data.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        alert.title = "Posture: normal → elevated\r\nBcc: evil@example.com"
        alert.detail = "normal → elevated"
        data = MailMessage.data(for: alert, from: "pnyx@county.example", to: ["a@county.example"], messageDomain: "county.example")
        #expect(data.contains("Subject: =?utf-8?B?"))
        #expect(!data.contains("\r\nBcc:"))
        #expect(data.contains("Content-Transfer-Encoding: base64"))
    }

    @Test("the alerts: section is read into typed values, secrets from files")
    func configuration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-alert-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "a-webhook-secret-of-32-characters\n".write(to: dir.appendingPathComponent("hook.secret"), atomically: true, encoding: .utf8)
        try "mail password\n".write(to: dir.appendingPathComponent("smtp.password"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse(
            yaml: """
                listen: { http: 127.0.0.1:8080 }
                sites:
                  - { name: county, hosts: [vote.example.gov], origins: [http://127.0.0.1:9000] }
                alerts:
                  node: edge-1
                  repeat_window: 15m
                  smtp: { server: smtp.example.gov, username: pnyx, password_file: \(dir.path)/smtp.password, from: pnyx@example.gov }
                  spike: { window: 10m, baseline: 2h, factor: 4, minimum: 30, cooldown: 1h }
                  destinations:
                    - webhook: https://hooks.example.gov/pnyx
                      secret_file: \(dir.path)/hook.secret
                      kinds: [origin, integrity]
                    - email: [it@county.example.gov]
                      sites: [county]
                      severity: warning
                """, file: "pnyx.yaml")
        let alerts = config.alerts
        #expect(alerts.node == "edge-1" && alerts.repeatWindow == .seconds(900))
        #expect(alerts.smtp == SMTPSettings(host: "smtp.example.gov", port: 587, security: .starttls, username: "pnyx", password: "mail password", from: "pnyx@example.gov"))
        #expect(alerts.spike.window == .seconds(600) && alerts.spike.baseline == .seconds(7200) && alerts.spike.factor == 4 && alerts.spike.minimum == 30)
        #expect(alerts.destinations.count == 2)
        #expect(alerts.destinations[0].target == .webhook(url: "https://hooks.example.gov/pnyx", secret: "a-webhook-secret-of-32-characters"))
        #expect(alerts.destinations[0].kinds == [.origin, .integrity])
        #expect(alerts.destinations[1].target == .email(to: ["it@county.example.gov"]) && alerts.destinations[1].sites == ["county"])
        #expect(alerts.destinations[1].minimumSeverity == .warning)
    }

    @Test("a bad alerts: section is refused with every error, each at its line")
    func configurationErrors() {
        let yaml = """
            listen: { http: 127.0.0.1:8080 }
            sites:
              - { name: county, hosts: [vote.example.gov], origins: [http://127.0.0.1:9000] }
            alerts:
              spike: { window: 10m, baseline: 15m, factor: 0.5 }
              destinations:
                - webhook: hooks.example.gov/pnyx
                - webhook: https://hooks.example.gov/pnyx
                  secret: short
                - email: [it@county.example.gov]
                  sites: [nowhere]
                  kinds: [spikes]
                  severity: loud
                - email: not-an-address
            """
        var errors: [ConfigError] = []
        do { _ = try ConfigLoader.parse(yaml: yaml, file: "pnyx.yaml") } catch { errors = error.errors }
        let keys = errors.map { "\($0.key)@\($0.line)" }
        #expect(keys.contains("alerts.spike.factor@5"), "\(keys)")
        #expect(keys.contains("alerts.spike.baseline@5"), "\(keys)")
        #expect(keys.contains("alerts.destinations[0].webhook@7"), "\(keys)")
        #expect(keys.contains("alerts.destinations[1].secret_file@9"), "\(keys)")
        #expect(keys.contains("alerts.destinations[2]@10"), "an email without alerts.smtp: \(keys)")
        #expect(keys.contains("alerts.destinations[2].sites@11"), "\(keys)")
        #expect(keys.contains("alerts.destinations[2].kinds@12"), "\(keys)")
        #expect(keys.contains("alerts.destinations[2].severity@13"), "\(keys)")
        #expect(keys.contains("alerts.destinations[3].email@14"), "\(keys)")
    }
}
