import Crypto

/// Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, as authenticator apps use.
public struct TOTP: Sendable {
    public let secret: [UInt8]
    public var digits = 6
    public var step: Int64 = 30

    public init(secret: [UInt8]) { self.secret = secret }

    /// A new 20-byte secret (RFC 4226's recommended length).
    public static func newSecret() -> [UInt8] { Secrets.bytes(20) }

    /// The time step a Unix time falls in.
    public func counter(at unixSeconds: Int64) -> Int64 { unixSeconds / step }

    /// The code for a time step (RFC 4226 HOTP with dynamic truncation).
    public func code(counter: Int64) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        var value = UInt64(bitPattern: counter)
        for i in (0..<8).reversed() {
            message[i] = UInt8(value & 0xFF)
            value >>= 8
        }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let number = String(binary % modulus)
        return String(repeating: "0", count: max(0, digits - number.count)) + number
    }

    public func code(at unixSeconds: Int64) -> String { code(counter: counter(at: unixSeconds)) }

    /// The time step `code` is valid for, allowing one step of clock drift either way, or nil. Callers refuse a
    /// step at or before the last one used (a code works once).
    public func match(_ code: String, at unixSeconds: Int64, after lastUsed: Int64 = -1) -> Int64? {
        let presented = Array(code.filter { !$0.isWhitespace }.utf8)
        guard presented.count == digits else { return nil }
        let now = counter(at: unixSeconds)
        for candidate in [now, now - 1, now + 1] where candidate > lastUsed {
            if Secrets.equal(Array(self.code(counter: candidate).utf8), presented) { return candidate }
        }
        return nil
    }

    /// The `otpauth://` URI an authenticator app reads (as text or a QR code).
    public func provisioningURI(account: String, issuer: String = "Pnyx") -> String {
        func escape(_ s: String) -> String {
            var out = ""
            for b in s.utf8 {
                if (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46 || b == 95 {
                    out.unicodeScalars.append(Unicode.Scalar(b))
                } else {
                    out += "%" + Secrets.hex([b]).uppercased()
                }
            }
            return out
        }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))&issuer=\(escape(issuer))"
            + "&algorithm=SHA1&digits=\(digits)&period=\(step)"
    }
}
