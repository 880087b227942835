import Crypto

/// The work a browser does: find a counter such that SHA-256 of `challenge:counter` starts with `difficulty` zero
/// bits. Checking a solution is one hash.
public enum ProofOfWork {
    public static func isSolved(challenge: String, counter: String, difficulty: Int) -> Bool {
        guard !counter.isEmpty, counter.utf8.count <= 20, counter.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let digest = Array(SHA256.hash(data: Array((challenge + ":" + counter).utf8)))
        return leadingZeroBits(digest) >= difficulty
    }

    static func leadingZeroBits(_ bytes: [UInt8]) -> Int {
        var bits = 0
        for byte in bytes {
            if byte == 0 {
                bits += 8
                continue
            }
            return bits + byte.leadingZeroBitCount
        }
        return bits
    }

    /// Solves a challenge the slow way (tests and the benchmark; a browser does this in a Web Worker).
    public static func solve(challenge: String, difficulty: Int) -> String {
        var counter = 0
        while !isSolved(challenge: challenge, counter: String(counter), difficulty: difficulty) { counter += 1 }
        return String(counter)
    }
}
