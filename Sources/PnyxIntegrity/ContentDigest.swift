import Crypto
import Foundation
import NIOCore

/// `Content-Digest` (RFC 9530): a hash of the message content, as a structured-field dictionary
/// (`sha-256=:base64:`). Pnyx sends SHA-256 and checks SHA-256 or SHA-512.
public enum ContentDigest {
    /// The field value for `body`: `sha-256=:…:`.
    public static func header<C: Collection>(for body: C) -> String where C.Element == UInt8 {
        "sha-256=:\(Data(SHA256.hash(data: Array(body))).base64EncodedString()):"
    }

    /// The SHA-256 of a buffer's readable bytes, base64 (no copy of the bytes).
    public static func sha256Base64(_ body: ByteBuffer) -> String {
        var hasher = SHA256()
        body.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        return Data(hasher.finalize()).base64EncodedString()
    }

    /// The SHA-256 of `body`, raw.
    public static func sha256<C: Collection>(_ body: C) -> [UInt8] where C.Element == UInt8 {
        Array(SHA256.hash(data: Array(body)))
    }

    public enum Check: Equatable, Sendable {
        case matches(algorithm: String)
        case mismatch(algorithm: String)
        /// No algorithm Pnyx knows (or the field is malformed).
        case unusable
    }

    /// Checks a received `Content-Digest` against the content. The strongest known algorithm decides.
    public static func check<C: Collection>(_ field: String, body: C) -> Check where C.Element == UInt8 {
        var values: [String: [UInt8]] = [:]
        for member in field.split(separator: ",") {
            let parts = member.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
            var value = parts[1].trimmingCharacters(in: .whitespaces)
            guard value.count >= 2, value.hasPrefix(":"), value.hasSuffix(":") else { continue }
            value = String(value.dropFirst().dropLast())
            if let bytes = Data(base64Encoded: value) { values[name] = Array(bytes) }
        }
        let bytes = Array(body)
        if let expected = values["sha-512"] {
            return Array(SHA512.hash(data: bytes)) == expected ? .matches(algorithm: "sha-512") : .mismatch(algorithm: "sha-512")
        }
        if let expected = values["sha-256"] {
            return Array(SHA256.hash(data: bytes)) == expected ? .matches(algorithm: "sha-256") : .mismatch(algorithm: "sha-256")
        }
        return .unusable
    }
}
