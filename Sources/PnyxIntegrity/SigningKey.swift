import Crypto
import Foundation
import PnyxCore

/// A site's Ed25519 key pair for signed results: made on first use and kept in the data directory
/// (`<data_dir>/integrity/<site>/signing.key`, the 32-byte seed, mode 0600).
public struct SiteSigningKey: Sendable {
    /// swift-crypto's key is an immutable value that does not say it is Sendable; it is never mutated after init.
    private final class Box: @unchecked Sendable {
        let key: Curve25519.Signing.PrivateKey
        init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }
    }
    private let box: Box
    /// Names the key in `Signature-Input` (`keyid`): base64url of the first 16 bytes of the public key's SHA-256.
    public let keyID: String

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.box = Box(privateKey)
        self.keyID = Self.keyID(for: privateKey.publicKey.rawRepresentation)
    }

    public var privateKey: Curve25519.Signing.PrivateKey { box.key }
    public var publicKey: Curve25519.Signing.PublicKey { box.key.publicKey }

    public static func keyID<C: Collection>(for publicKey: C) -> String where C.Element == UInt8 {
        Base64URL.encode(Array(SHA256.hash(data: Array(publicKey))).prefix(16))
    }

    public struct KeyError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads the key at `path`, or makes one there (and its directory).
    public static func loadOrCreate(path: String) throws -> SiteSigningKey {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw KeyError(message: "\(path) does not hold a 32-byte Ed25519 seed") }
            return SiteSigningKey(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: data))
        }
        let directory = (path as NSString).deletingLastPathComponent
        if let problem = Directories.create(directory) { throw KeyError(message: "cannot create \(directory): \(problem)") }
        let key = Curve25519.Signing.PrivateKey()
        guard FileManager.default.createFile(atPath: path, contents: key.rawRepresentation, attributes: [.posixPermissions: 0o600])
        else { throw KeyError(message: "cannot create \(path)") }
        return SiteSigningKey(privateKey: key)
    }

    public func sign(_ message: String) throws -> [UInt8] {
        Array(try privateKey.signature(for: Array(message.utf8)))
    }
}
