import Crypto
import _CryptoExtras

/// Staff passwords, hashed with scrypt (memory-hard). Stored as `scrypt$N$r$p$salt-hex$hash-hex`, so the
/// work factor can rise later without invalidating existing hashes.
public struct PasswordHasher: Sendable {
    /// scrypt's cost: N (a power of two), r, p. The default (N = 2^15, r = 8) takes 32 MiB and tens of ms.
    public var rounds: Int
    public var blockSize: Int
    public var parallelism: Int

    public static let standard = PasswordHasher(rounds: 1 << 15, blockSize: 8, parallelism: 1)

    public init(rounds: Int, blockSize: Int, parallelism: Int) {
        self.rounds = rounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// The shortest password accepted.
    public static let minimumLength = 12

    public func hash(_ password: String) throws -> String {
        let salt = Secrets.bytes(16)
        let key = try derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Secrets.hex(salt))$\(Secrets.hex(key))"
    }

    /// Whether `password` matches `stored` (constant-time comparison). A malformed record never matches.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
            n > 1, n & (n - 1) == 0, (1...64).contains(r), (1...16).contains(p),
            let salt = Secrets.unhex(parts[4]), let expected = Secrets.unhex(parts[5]), !expected.isEmpty,
            let key = try? PasswordHasher.standard.derive(password, salt: salt, rounds: n, blockSize: r, parallelism: p, length: expected.count)
        else { return false }
        return Secrets.equal(key, expected)
    }

    func derive(_ password: String, salt: [UInt8], rounds: Int, blockSize: Int, parallelism: Int, length: Int = 32) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: length, rounds: rounds, blockSize: blockSize,
            parallelism: parallelism)
        return key.withUnsafeBytes { Array($0) }
    }

    /// Why a new password is refused, or nil.
    public static func weakness(of password: String, user: String) -> String? {
        if password.count < minimumLength { return "a password needs at least \(minimumLength) characters" }
        if password.lowercased().contains(user.lowercased()) { return "a password must not contain the user name" }
        if Set(password).count < 5 { return "a password needs more than a few distinct characters" }
        return nil
    }
}
