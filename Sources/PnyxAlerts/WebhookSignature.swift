import PnyxCore
import Crypto
import Foundation

/// The `Pnyx-Signature` header on webhook deliveries: `t=<unix seconds>,v1=<hex HMAC-SHA256>` where the MAC is
/// over `<t>.<body>` with the destination's secret. A receiver recomputes it, compares in constant time and
/// refuses a `t` more than five minutes from its own clock (a replay).
public enum WebhookSignature {
    public static let header = "Pnyx-Signature"

    public static func sign(body: Data, secret: String, unixSeconds: Int64) -> String {
        "t=\(unixSeconds),v1=\(mac(body: body, secret: secret, unixSeconds: unixSeconds))"
    }

    static func mac(body: Data, secret: String, unixSeconds: Int64) -> String {
        var message = Data("\(unixSeconds).".utf8)
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Checks a header against a body, as a receiver does (used by the tests and `pnyx alerts verify`).
    public static func verify(header: String, body: Data, secret: String, nowSeconds: Int64, tolerance: Int64 = 300) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(String(pair[1])) }
        }
        guard let timestamp, abs(nowSeconds - timestamp) <= tolerance else { return false }
        let expected = Array(mac(body: body, secret: secret, unixSeconds: timestamp).utf8)
        return signatures.contains { candidate in
            let given = Array(candidate.utf8)
            guard given.count == expected.count else { return false }
            return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
