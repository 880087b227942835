import Crypto

/// The Merkle tree of a transparency log, as RFC 9162 (Certificate Transparency 2.0) §2.1 defines it:
/// leaf hash `SHA-256(0x00 ‖ leaf)`, node hash `SHA-256(0x01 ‖ left ‖ right)`, the split at the largest power of
/// two below the size. Pure functions over leaf hashes.
public enum MerkleTree {
    public typealias Hash = [UInt8]

    public static func leafHash(_ leaf: [UInt8]) -> Hash {
        Array(SHA256.hash(data: [0] + leaf))
    }

    static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        Array(SHA256.hash(data: [1] + left + right))
    }

    /// The root of the tree over `leaves` (leaf hashes). The empty tree's root is SHA-256 of nothing.
    public static func root(_ leaves: ArraySlice<Hash>) -> Hash {
        switch leaves.count {
        case 0: return Array(SHA256.hash(data: [UInt8]()))
        case 1: return leaves[leaves.startIndex]
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let mid = leaves.startIndex + k
            return nodeHash(root(leaves[leaves.startIndex..<mid]), root(leaves[mid...]))
        }
    }

    /// The audit path of leaf `index` in the tree over `leaves` (RFC 9162 §2.1.3.1).
    public static func inclusionProof(index: Int, _ leaves: ArraySlice<Hash>) -> [Hash] {
        let n = leaves.count
        guard n > 1, index >= 0, index < n else { return [] }
        let k = largestPowerOfTwo(below: n)
        let mid = leaves.startIndex + k
        if index < k {
            return inclusionProof(index: index, leaves[leaves.startIndex..<mid]) + [root(leaves[mid...])]
        }
        return inclusionProof(index: index - k, leaves[mid...]) + [root(leaves[leaves.startIndex..<mid])]
    }

    /// Checks an audit path (RFC 9162 §2.1.3.2): leaf `index` with hash `leafHash` is in the tree of `size` leaves
    /// whose root is `root`.
    public static func verifyInclusion(index: Int, size: Int, leafHash: Hash, proof: [Hash], root: Hash) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
