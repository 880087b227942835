import PnyxCore
/// A signed, stateless challenge: what the page asks the browser to solve (`kind` "p", proof of work) or the
/// time-locked pass of the no-JavaScript path (`kind` "w"). Bound to the site, the client's address prefix, the
/// page to return to, and the time it was issued; it expires after ``lifetime`` and cannot be moved to another
/// site, client network or return path.
///
/// Text form: `kind.issuedAt.difficulty.nonce.signature` (the return path travels beside it, signed by it).
public struct ChallengeToken: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case proofOfWork = "p"
        case wait = "w"
    }

    public var kind: Kind
    public var issuedAt: Int64
    public var difficulty: Int
    public var nonce: String
    public var signature: String

    /// How long a challenge may be answered.
    public static let lifetime: Int64 = 600

    public var text: String { "\(kind.rawValue).\(issuedAt).\(difficulty).\(nonce).\(signature)" }

    static func message(kind: Kind, issuedAt: Int64, difficulty: Int, nonce: String, site: String, prefix: String, target: String) -> String {
        "c1|\(kind.rawValue)|\(issuedAt)|\(difficulty)|\(nonce)|\(site)|\(prefix)|\(target)"
    }

    public static func issue(
        kind: Kind, keys: ChallengeKeys, site: String, prefix: String, target: String, difficulty: Int, now: Int64
    ) -> ChallengeToken {
        var generator = SystemRandomNumberGenerator()
        let nonce = Base64URL.encode((0..<9).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let signature = keys.sign(
            message(kind: kind, issuedAt: now, difficulty: difficulty, nonce: nonce, site: site, prefix: prefix, target: target),
            site: site, time: now)
        return ChallengeToken(kind: kind, issuedAt: now, difficulty: difficulty, nonce: nonce, signature: signature)
    }

    public enum Rejection: String, Sendable, Error {
        case malformed, expired, notYet = "not_yet", forged, unsolved
    }

    /// Checks a token the client sent back: its form, age and signature (not the work: see ``ProofOfWork``).
    /// `wait` is how long a `w` token must have aged before it is accepted.
    public static func verify(
        _ text: Substring, keys: ChallengeKeys, site: String, prefix: String, target: String, now: Int64,
        wait: Int64 = 0
    ) -> Result<ChallengeToken, Rejection> {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let kind = Kind(rawValue: String(parts[0])), let issuedAt = Int64(parts[1]),
            let difficulty = Int(parts[2]), (0...40).contains(difficulty), parts[3].utf8.count == 12
        else { return .failure(.malformed) }
        guard issuedAt <= now + 5 else { return .failure(.forged) }
        guard now - issuedAt <= lifetime else { return .failure(.expired) }
        let nonce = String(parts[3])
        let expected = keys.sign(
            message(kind: kind, issuedAt: issuedAt, difficulty: difficulty, nonce: nonce, site: site, prefix: prefix, target: target),
            site: site, time: issuedAt)
        guard constantTimeEqual(parts[4], expected) else { return .failure(.forged) }
        if kind == .wait && now - issuedAt < wait { return .failure(.notYet) }
        return .success(ChallengeToken(kind: kind, issuedAt: issuedAt, difficulty: difficulty, nonce: nonce, signature: expected))
    }
}
