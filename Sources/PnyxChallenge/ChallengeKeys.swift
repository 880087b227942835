import Crypto
import Foundation
import PnyxCore

/// The signing keys of challenges and clearance cookies. A node secret (32 random bytes in
/// `<data_dir>/challenge.key`, or a file the nodes of a fleet share) derives one key per site per day, so keys
/// rotate daily and a token of one site is worthless on another. Nothing is stored per client: every token carries
/// what it needs and its signature.
public struct ChallengeKeys: Sendable {
    let secret: [UInt8]
    /// Keys rotate every day (UTC).
    public static let epochSeconds: Int64 = 86_400

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// Reads `path`, creating it with a new random secret (mode 0600) if it does not exist.
    public static func loadOrCreate(path: String) throws -> ChallengeKeys {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw ChallengeKeyError(message: "\(path) holds fewer than 32 bytes") }
            return ChallengeKeys(secret: Array(data))
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw ChallengeKeyError(message: "cannot create \(path)")
        }
        return ChallengeKeys(secret: bytes)
    }

    /// The key of `site` for the day `time` (seconds since the epoch) falls in.
    func siteKey(_ site: String, time: Int64) -> SymmetricKey {
        let epoch = time >= 0 ? time / Self.epochSeconds : -1
        let label = Array("pnyx-challenge|\(site)|\(epoch)".utf8)
        return SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: label, using: SymmetricKey(data: secret))))
    }

    /// The signature of `message` under `site`'s key for the day of `time`, base64url without padding.
    func sign(_ message: String, site: String, time: Int64) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: siteKey(site, time: time))
        return Base64URL.encode(Array(code).prefix(24))
    }
}

public struct ChallengeKeyError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Compares without stopping at the first difference (a timing side channel would leak a valid signature).
func constantTimeEqual(_ a: Substring, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
}

/// The part of a client's address a token is bound to: the /24 of an IPv4 address, the /64 of an IPv6 one (so a
/// phone that changes address inside its network keeps its clearance).
public enum ClientPrefix {
    public static func of(_ address: IPAddress?) -> String {
        guard let address else { return "-" }
        if let v4 = address.ipv4Value { return "4:" + String(v4 >> 8, radix: 16) }
        return "6:" + String(address.high, radix: 16)
    }
}
