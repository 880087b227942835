import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PnyxCore

/// Sends an alert to every destination that wants it, each independently, retrying a failure twice (after 2 s
/// and 10 s by default). A destination that stays down costs its own alerts, never another destination's.
struct AlertDelivery: Sendable {
    let group: any EventLoopGroup
    let httpClient: HTTPClient
    let logger: Logger
    var retryDelays: [Duration] = [.seconds(2), .seconds(10)]
    /// Per attempt (a refused connection is retried by the HTTP client until then).
    var webhookTimeout: TimeAmount = .seconds(10)

    func deliver(_ alert: Alert, settings: AlertSettings) async -> [DeliveryResult] {
        let targets = settings.destinations.filter { $0.wants(site: alert.site, kind: alert.kind, severity: alert.severity) }
        return await withTaskGroup(of: (Int, DeliveryResult).self) { tasks in
            for (index, destination) in targets.enumerated() {
                tasks.addTask { (index, await self.deliver(alert, to: destination, smtp: settings.smtp)) }
            }
            var results: [(Int, DeliveryResult)] = []
            for await result in tasks { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func deliver(_ alert: Alert, to destination: AlertDestination, smtp: SMTPSettings?) async -> DeliveryResult {
        var attempts = 0
        var lastError = ""
        for delay in [Duration.zero] + retryDelays {
            if delay > .zero { try? await Task.sleep(for: delay) }
            attempts += 1
            do {
                try await send(alert, to: destination, smtp: smtp)
                logger.info(
                    "alert delivered",
                    metadata: ["pnyx.alert": "\(alert.id)", "pnyx.alert.kind": "\(alert.kind.rawValue)", "pnyx.destination": "\(destination.label)"])
                return DeliveryResult(destination: destination.label, delivered: true, attempts: attempts)
            } catch {
                lastError = "\(error)"
            }
        }
        logger.error(
            "alert not delivered",
            metadata: ["pnyx.alert": "\(alert.id)", "pnyx.destination": "\(destination.label)", "error": "\(lastError)"])
        return DeliveryResult(destination: destination.label, delivered: false, attempts: attempts, error: lastError)
    }

    private func send(_ alert: Alert, to destination: AlertDestination, smtp: SMTPSettings?) async throws {
        switch destination.target {
        case .webhook(let url, let secret):
            try await WebhookSender(client: httpClient, timeout: webhookTimeout).send(alert, url: url, secret: secret, nowSeconds: wallMillis() / 1000)
        case .email(let to):
            guard let smtp else { throw DeliveryError("no alerts.smtp is configured") }
            let data = MailMessage.data(for: alert, from: smtp.from, to: to, messageDomain: Self.domain(of: smtp.from))
            try await SMTPClient(settings: smtp, group: group).send(from: smtp.from, to: to, data: data)
        }
    }

    static func domain(of address: String) -> String {
        address.split(separator: "@").last.map(String.init) ?? "pnyx.localdomain"
    }
}
