/// Aho–Corasick automaton for `@pm` / `@pmFromFile`: finds any of many phrases, case-insensitively, in one pass.
/// Built once at load as a dense DFA over the byte classes the phrases use, then read-only.
public final class PhraseMatcher: Sendable {
    /// Byte → class (0 = a byte no phrase contains).
    private let classOf: [UInt8]
    private let classCount: Int
    /// `state * classCount + class` → next state.
    private let next: [Int32]
    /// Index of the phrase ending at a state (the longest; -1 if none).
    private let output: [Int32]
    /// Each state's depth in the trie: a transition to depth + 1 is a trie edge (a phrase continues), any other
    /// is a failure transition.
    private let depth: [Int32]
    /// The (folded) byte pairs phrases start with, as a 65,536-bit set, and the shortest phrase's length: what
    /// ``contains(in:)`` uses to skip positions where no phrase can start.
    private let starts: [UInt64]
    private let shortest: Int
    public let phrases: [[UInt8]]

    public init(phrases input: [String]) {
        let phrases = input.map { Array($0.utf8).map(PhraseMatcher.fold) }.filter { !$0.isEmpty }
        self.phrases = phrases
        var classOf = [UInt8](repeating: 0, count: 256)
        var classes = 1
        for phrase in phrases {
            for byte in phrase where classOf[Int(byte)] == 0 {
                classOf[Int(byte)] = UInt8(truncatingIfNeeded: classes)
                classes += 1
                if classes > 255 { break }
            }
        }
        for upper in UInt8(0x41)...0x5A { classOf[Int(upper)] = classOf[Int(upper | 0x20)] }
        self.classOf = classOf
        classCount = classes

        // Trie.
        var goto: [[Int32]] = [[Int32](repeating: -1, count: classes)]
        var output: [Int32] = [-1]
        var depth: [Int32] = [0]
        var starts = [UInt64](repeating: 0, count: 1024)
        for phrase in phrases where phrase.count >= 2 {
            let pair = Int(phrase[0]) << 8 | Int(phrase[1])
            starts[pair >> 6] |= 1 << UInt64(pair & 63)
        }
        self.starts = starts
        shortest = phrases.map(\.count).min() ?? 0
        for (index, phrase) in phrases.enumerated() {
            var state = 0
            for byte in phrase {
                let symbol = Int(classOf[Int(byte)])
                if goto[state][symbol] < 0 {
                    goto[state][symbol] = Int32(goto.count)
                    goto.append([Int32](repeating: -1, count: classes))
                    output.append(-1)
                    depth.append(depth[state] + 1)
                }
                state = Int(goto[state][symbol])
            }
            if output[state] < 0 { output[state] = Int32(index) }
        }
        // Failure links, breadth first, turning the trie into a DFA.
        var fail = [Int](repeating: 0, count: goto.count)
        var queue: [Int] = []
        for symbol in 0..<classes {
            let target = goto[0][symbol]
            if target < 0 {
                goto[0][symbol] = 0
            } else {
                fail[Int(target)] = 0
                queue.append(Int(target))
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            if output[state] < 0, output[fail[state]] >= 0 { output[state] = output[fail[state]] }
            for symbol in 0..<classes {
                let target = goto[state][symbol]
                if target < 0 {
                    goto[state][symbol] = goto[fail[state]][symbol]
                } else {
                    fail[Int(target)] = Int(goto[fail[state]][symbol])
                    queue.append(Int(target))
                }
            }
        }
        self.output = output
        self.depth = depth
        next = goto.flatMap { $0 }
    }

    /// Whether any phrase occurs in `subject`: the same answer as `firstMatch(in:) != nil`, found faster on long
    /// text (a response body). Positions where no phrase starts (their byte pair is not one a phrase starts with)
    /// are skipped with one bit test; from the others the trie is walked only as far as a phrase continues. A
    /// phrase that occurs starts at some position, and is found from it; the automaton's scan, by contrast, reads
    /// the large transition table at every byte.
    public func contains(in subject: UnsafeRawBufferPointer) -> Bool {
        guard !phrases.isEmpty else { return false }
        guard shortest >= 2 else { return firstMatch(in: subject) != nil }
        let count = subject.count
        guard count >= shortest else { return false }
        let classCount = self.classCount
        return next.withUnsafeBufferPointer { next in
            classOf.withUnsafeBufferPointer { classOf in
                output.withUnsafeBufferPointer { output in
                    depth.withUnsafeBufferPointer { depth in
                        starts.withUnsafeBufferPointer { starts in
                            var position = 0
                            var current = Int(Self.fold(subject[0]))
                            while position <= count - shortest {
                                let following = Int(Self.fold(subject[position + 1]))
                                let pair = current << 8 | following
                                current = following
                                if starts[pair >> 6] & (1 << UInt64(pair & 63)) != 0 {
                                    var state = 0
                                    var cursor = position
                                    while cursor < count {
                                        let target = Int(next[state &* classCount &+ Int(classOf[Int(subject[cursor])])])
                                        if depth[target] != depth[state] + 1 { break }
                                        if output[target] >= 0 { return true }
                                        state = target
                                        cursor += 1
                                    }
                                }
                                position += 1
                            }
                            return false
                        }
                    }
                }
            }
        }
    }

    static func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// The first phrase found in `subject`, if any.
    public func firstMatch(in subject: UnsafeRawBufferPointer) -> Int? {
        guard !phrases.isEmpty else { return nil }
        let classCount = self.classCount
        return next.withUnsafeBufferPointer { next in
            classOf.withUnsafeBufferPointer { classOf in
                output.withUnsafeBufferPointer { output in
                    var state = 0
                    for byte in subject {
                        state = Int(next[state &* classCount &+ Int(classOf[Int(byte)])])
                        let found = output[state]
                        if found >= 0 { return Int(found) }
                    }
                    return nil
                }
            }
        }
    }

    public func firstMatch(in subject: [UInt8]) -> Int? {
        subject.withUnsafeBytes { firstMatch(in: $0) }
    }
}
