/// An append-only Merkle tree that keeps the hash of every aligned, complete subtree, so appending, the root and
/// an inclusion proof each cost O(log² n) hashes at most (the tree is never rehashed).
public struct MerkleLog: Sendable {
    /// `levels[i][j]`: the hash of leaves `j·2^i ..< (j+1)·2^i`.
    private var levels: [[MerkleTree.Hash]] = [[]]

    public init() {}

    public var size: Int { levels[0].count }

    public mutating func append(leafHash: MerkleTree.Hash) {
        levels[0].append(leafHash)
        var level = 0
        var index = levels[0].count - 1
        // Each time the new leaf completes a subtree, its parent's hash becomes known.
        while index & 1 == 1 {
            let parent = MerkleTree.nodeHash(levels[level][index - 1], levels[level][index])
            level += 1
            if levels.count <= level { levels.append([]) }
            levels[level].append(parent)
            index >>= 1
        }
    }

    public func leafHash(at index: Int) -> MerkleTree.Hash { levels[0][index] }

    /// The root of the first `size` leaves (the current tree by default).
    public func root(size: Int? = nil) -> MerkleTree.Hash {
        let n = size ?? self.size
        if n == 0 { return MerkleTree.root([]) }
        return hash(0, n)
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves.
    public func inclusionProof(index: Int, size: Int? = nil) -> [MerkleTree.Hash] {
        let n = size ?? self.size
        guard index >= 0, index < n, n <= self.size else { return [] }
        return path(index, 0, n)
    }

    /// MTH of leaves `start ..< end`.
    private func hash(_ start: Int, _ end: Int) -> MerkleTree.Hash {
        let n = end - start
        if n == 1 { return levels[0][start] }
        if n & (n - 1) == 0 && start % n == 0 {
            let level = n.trailingZeroBitCount
            if level < levels.count, start / n < levels[level].count { return levels[level][start / n] }
        }
        let k = MerkleTree.largestPowerOfTwo(below: n)
        return MerkleTree.nodeHash(hash(start, start + k), hash(start + k, end))
    }

    private func path(_ index: Int, _ start: Int, _ end: Int) -> [MerkleTree.Hash] {
        let n = end - start
        if n <= 1 { return [] }
        let k = MerkleTree.largestPowerOfTwo(below: n)
        if index < start + k { return path(index, start, start + k) + [hash(start + k, end)] }
        return path(index, start + k, end) + [hash(start, start + k)]
    }
}
