import PnyxCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts an alert's JSON to a webhook URL, signed (see ``WebhookSignature``). Any 2xx is delivered.
struct WebhookSender: Sendable {
    let client: HTTPClient
    var timeout: TimeAmount = .seconds(10)

    func send(_ alert: Alert, url: String, secret: String, nowSeconds: Int64) async throws {
        let body = alert.json()
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "pnyx-alerts")
        request.headers.add(name: "Pnyx-Alert-Id", value: alert.id)
        request.headers.add(name: WebhookSignature.header, value: WebhookSignature.sign(body: body, secret: secret, unixSeconds: nowSeconds))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: timeout)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw DeliveryError("the webhook answered \(response.status.code)")
        }
    }
}

struct DeliveryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
