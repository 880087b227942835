/// The transformed forms of one transaction's values: CRS applies a handful of transformation lists to the same
/// values over and over, so each (value, trie node) pair is transformed once and kept here (see
/// ``RuleSet/transformNodes``). The bytes live in one
/// growing buffer and are found through an open-addressing table keyed by the value's serial and the list's number.
/// Plain unsafe storage: the per-(rule, value) loop reads it without reference counting or allocation.
final class TransformCache {
    /// Where a form's bytes are in `bytes`.
    struct Span {
        var offset: Int
        var count: Int
    }

    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private var used = 0
    /// 0 marks an empty slot (serials start at 1, so no key is 0).
    private var keys: UnsafeMutablePointer<UInt64>
    private var spans: UnsafeMutablePointer<Span>
    private var mask: Int
    private var entries = 0

    init(tableSize: Int = 2048, byteCapacity: Int = 16 * 1024) {
        precondition(tableSize > 0 && tableSize & (tableSize - 1) == 0)
        bytes = .allocate(byteCount: byteCapacity, alignment: 16)
        self.byteCapacity = byteCapacity
        keys = .allocate(capacity: tableSize)
        keys.initialize(repeating: 0, count: tableSize)
        spans = .allocate(capacity: tableSize)
        mask = tableSize - 1
    }

    deinit {
        bytes.deallocate()
        keys.deallocate()
        spans.deallocate()
    }

    @inline(__always)
    static func key(serial: Int, list: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: serial) &<< 20 | UInt64(truncatingIfNeeded: list)
    }

    @inline(__always)
    private func position(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The span stored for `key`, if any.
    @inline(__always)
    func lookup(_ key: UInt64) -> Span? {
        var index = position(key)
        while true {
            let found = keys[index]
            if found == key { return spans[index] }
            if found == 0 { return nil }
            index = (index &+ 1) & mask
        }
    }

    /// Stores `value` under `key` (not already present) and returns where it went.
    func store(_ key: UInt64, _ value: [UInt8]) -> Span {
        if (entries + 1) * 2 > mask + 1 { grow() }
        if used + value.count > byteCapacity {
            var capacity = byteCapacity * 2
            while used + value.count > capacity { capacity *= 2 }
            let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            larger.copyMemory(from: bytes, byteCount: used)
            bytes.deallocate()
            bytes = larger
            byteCapacity = capacity
        }
        value.withUnsafeBytes { source in
            if let base = source.baseAddress { (bytes + used).copyMemory(from: base, byteCount: source.count) }
        }
        let span = Span(offset: used, count: value.count)
        used += value.count
        insert(key, span)
        entries += 1
        return span
    }

    /// Stores an existing span under `key` (not already present): a form equal to another shares its bytes.
    func alias(_ key: UInt64, _ span: Span) {
        if (entries + 1) * 2 > mask + 1 { grow() }
        insert(key, span)
        entries += 1
    }

    private func insert(_ key: UInt64, _ span: Span) {
        var index = position(key)
        while keys[index] != 0 { index = (index &+ 1) & mask }
        keys[index] = key
        spans[index] = span
    }

    private func grow() {
        let oldKeys = keys, oldSpans = spans, oldSize = mask + 1
        let size = oldSize * 2
        keys = .allocate(capacity: size)
        keys.initialize(repeating: 0, count: size)
        spans = .allocate(capacity: size)
        mask = size - 1
        for index in 0..<oldSize where oldKeys[index] != 0 { insert(oldKeys[index], oldSpans[index]) }
        oldKeys.deallocate()
        oldSpans.deallocate()
    }

    /// The bytes of `span`: valid until the next `store`.
    @inline(__always)
    func buffer(_ span: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + span.offset, count: span.count)
    }
}
