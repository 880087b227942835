import Foundation
import Logging
import NIOPosix
import Testing
@testable import PnyxAlerts
import PnyxCore

/// Alerts delivered for real: email through aiosmtpd (STARTTLS and AUTH, and refusing to send in the clear),
/// webhooks to a local receiver that checks the signature, and a running pnyx that alerts when its origin goes
/// down and sends a test alert from the admin API.
@Suite("Alert delivery over real sockets", .serialized)
struct AlertDeliveryTests {
    static let alert = Alert(
        timeMillis: 1_800_000_000_000, kind: .origin, severity: .critical, site: "county", title: "Origin down at county",
        detail: "127.0.0.1:9 fails its health check.", node: "edge-test")

    static func delivery(retries: [Duration] = []) -> AlertDelivery {
        AlertDelivery(
            group: MultiThreadedEventLoopGroup.singleton, httpClient: .shared, logger: Logger(label: "test"), retryDelays: retries,
            webhookTimeout: .seconds(1))
    }

    static func settings(smtp: SMTPSettings, to: [String] = ["it@county.example"]) -> AlertSettings {
        var settings = AlertSettings()
        settings.smtp = smtp
        settings.destinations = [AlertDestination(target: .email(to: to))]
        return settings
    }

    @Test("email goes through STARTTLS and AUTH to a real SMTP server, readable and addressed as configured")
    func emailWithStartTLSAndAuth() async throws {
        let certificates = try await TestCertificates.make(hosts: ["localhost"])
        let sink = try await SMTPSink.start(
            certificate: (certificates.certificate("localhost"), certificates.key("localhost")), user: ("pnyx", "correct horse battery"))
        defer { sink.stop() }
        var smtp = SMTPSettings(
            host: "localhost", port: sink.port, security: .starttls, username: "pnyx", password: "correct horse battery", from: "pnyx@county.example")
        smtp.caFile = certificates.caPath
        let results = await Self.delivery().deliver(Self.alert, settings: Self.settings(smtp: smtp, to: ["it@county.example", "clerk@county.example"]))
        #expect(results.count == 1 && results[0].delivered, "\(results)")
        let message = try #require(sink.messages.first)
        #expect(message.tls && message.user == "pnyx")
        #expect(message.from == "pnyx@county.example" && message.to == ["it@county.example", "clerk@county.example"])
        #expect(message.data.contains("Subject: [Pnyx critical] Origin down at county"))
        #expect(message.data.contains("127.0.0.1:9 fails its health check."))
        #expect(message.data.contains("Node:     edge-test"))

        // A wrong password is the server's refusal, reported, and nothing is sent.
        smtp.password = "wrong"
        let refused = await Self.delivery().deliver(Self.alert, settings: Self.settings(smtp: smtp))
        #expect(refused.first?.delivered == false)
        #expect(refused.first?.error?.contains("user name and password") == true, "\(refused)")
        #expect(sink.messages.count == 1)
    }

    @Test("with security: starttls, a server that offers no STARTTLS is not sent to in the clear; an untrusted certificate fails")
    func emailRefusesCleartext() async throws {
        let plain = try await SMTPSink.start()
        defer { plain.stop() }
        let smtp = SMTPSettings(host: "127.0.0.1", port: plain.port, security: .starttls, from: "pnyx@county.example")
        let results = await Self.delivery().deliver(Self.alert, settings: Self.settings(smtp: smtp))
        #expect(results.first?.delivered == false)
        #expect(results.first?.error?.contains("STARTTLS") == true, "\(results)")
        #expect(plain.messages.isEmpty)

        // A certificate from a CA the client does not trust.
        let certificates = try await TestCertificates.make(hosts: ["localhost"])
        let tls = try await SMTPSink.start(certificate: (certificates.certificate("localhost"), certificates.key("localhost")))
        defer { tls.stop() }
        let untrusted = SMTPSettings(host: "localhost", port: tls.port, security: .starttls, from: "pnyx@county.example")
        let failed = await Self.delivery().deliver(Self.alert, settings: Self.settings(smtp: untrusted))
        #expect(failed.first?.delivered == false, "\(failed)")
        #expect(tls.messages.isEmpty)
    }

    @Test("a webhook gets the JSON signed with its secret; a dead one is retried, then reported failed")
    func webhook() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let secret = "webhook-secret-0123456789"
        var settings = AlertSettings()
        let dead = try unusedPort()
        settings.destinations = [
            AlertDestination(target: .webhook(url: sink.url, secret: secret)),
            AlertDestination(target: .webhook(url: "http://127.0.0.1:\(dead)/hook", secret: secret)),
        ]
        let results = await Self.delivery(retries: [.milliseconds(50), .milliseconds(50)]).deliver(Self.alert, settings: settings)
        #expect(results.map(\.delivered) == [true, false])
        #expect(results[1].attempts == 3 && results[1].error != nil)
        let delivery = try #require(sink.deliveries.first)
        #expect(delivery.headers["content-type"] == "application/json")
        #expect(delivery.headers["pnyx-alert-id"] == Self.alert.id)
        let signature = try #require(delivery.headers["pnyx-signature"])
        #expect(WebhookSignature.verify(header: signature, body: delivery.body, secret: secret, nowSeconds: Int64(Date().timeIntervalSince1970)))
        let object = try #require(try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any])
        #expect(object["kind"] as? String == "origin" && object["title"] as? String == "Origin down at county")
    }

    @Test("a running pnyx emails and posts an alert when its origin goes down, and sends a test alert from the API")
    func endToEnd() async throws {
        let origin = try await TestOrigin.start()
        let webhook = try await WebhookSink.start()
        let mail = try await SMTPSink.start()
        defer { mail.stop() }
        let dir = try PnyxProcess.makeDirectory()
        let secret = "a-shared-webhook-secret-for-tests"
        try secret.write(to: dir.appendingPathComponent("hook.secret"), atomically: true, encoding: .utf8)
        let yaml = siteConfig(
            originPort: origin.port,
            extraTop: """
                alerts:
                  node: edge-test
                  smtp: { server: 127.0.0.1:\(mail.port), security: none, from: pnyx@county.example }
                  destinations:
                    - webhook: \(webhook.url)
                      secret_file: \(dir.path)/hook.secret
                    - email: [it@county.example]
                      severity: warning
                """,
            extraSite: "health_check: { path: /, interval: 200ms, timeout: 2s, fails: 2, passes: 1 }")
        let pnyx = try await PnyxProcess.start(yaml: yaml, directory: dir)
        defer { Task { await pnyx.stop(); await webhook.stop() } }

        // The test alert, from the API: both destinations, whatever their filters.
        let test = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.adminPort ?? 0,
                "POST /api/v1/alerts/test HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(pnyx.adminToken)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        #expect(test.status == 200, "\(test.body)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(test.body.utf8)) as? [String: Any])
        let deliveries = result["deliveries"] as? [[String: Any]] ?? []
        #expect(deliveries.count == 2 && deliveries.allSatisfy { $0["delivered"] as? Bool == true }, "\(deliveries)")
        #expect(mail.messages.first?.data.contains("Subject: [Pnyx info] Test alert from Pnyx") == true)

        // The origin goes down: a critical alert reaches both.
        await origin.stop()
        let alerted = await eventually(within: .seconds(15)) {
            webhook.deliveries.contains { String(decoding: $0.body, as: UTF8.self).contains("\"kind\":\"origin\"") }
                && mail.messages.contains { $0.data.contains("Origin down at county") }
        }
        #expect(alerted, "no origin alert; log:\n\(pnyx.stderr.suffix(2000))")
        let hook = try #require(webhook.deliveries.first { String(decoding: $0.body, as: UTF8.self).contains("\"kind\":\"origin\"") })
        #expect(WebhookSignature.verify(header: hook.headers["pnyx-signature"] ?? "", body: hook.body, secret: secret, nowSeconds: Int64(Date().timeIntervalSince1970)))
        let object = try #require(try JSONSerialization.jsonObject(with: hook.body) as? [String: Any])
        #expect(object["severity"] as? String == "critical" && object["site"] as? String == "county" && object["node"] as? String == "edge-test")

        // The API lists it, with how each delivery went.
        let listed = try await eventually {
            try await adminGET(pnyx, "/api/v1/alerts").body.contains("Origin down at county")
        }
        #expect(listed)
        let alerts = try await adminGET(pnyx, "/api/v1/alerts?site=county")
        #expect(alerts.body.contains("\"delivered\":true") && alerts.body.contains("\"destinations\":["))
        #expect(!alerts.body.contains(secret))
    }
}
