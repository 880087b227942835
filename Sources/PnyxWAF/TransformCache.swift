/// The transformed forms of one transaction's values: CRS applies a handful of transformation lists to the same
/// values over and over, so each (value, trie node) pair is transformed once and kept here (see
/// ``RuleSet/transformNodes``). The bytes live in one growing buffer; where each form is sits in a dense table with
/// a row per value serial (serials are handed out 1, 2, 3… per transaction) and a column per trie node, so finding a
/// form is an index computation, not a hash lookup. Plain unsafe storage: the per-(rule, value) loop reads it
/// without reference counting or allocation.
final class TransformCache {
    /// Where a form's bytes are in `bytes`.
    struct Span {
        var offset: Int
        var count: Int
        /// Marks a form not computed yet.
        static let none = Span(offset: 0, count: -1)
    }

    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private var used = 0
    private var spans: UnsafeMutablePointer<Span>
    /// Rows allocated, and rows filled with `Span.none` (rows are made ready as serials reach them).
    private var rowCapacity: Int
    private var readyRows = 0
    private let columns: Int

    init(columns: Int, rows: Int = 64, byteCapacity: Int = 16 * 1024) {
        precondition(columns > 0 && rows > 0)
        self.columns = columns
        bytes = .allocate(byteCount: byteCapacity, alignment: 16)
        self.byteCapacity = byteCapacity
        rowCapacity = rows
        spans = .allocate(capacity: rows * columns)
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
    }

    /// The form of value `serial` after trie node `node`, if computed.
    @inline(__always)
    func lookup(serial: Int, node: Int) -> Span? {
        guard serial < readyRows else { return nil }
        let span = spans[serial &* columns &+ node]
        return span.count < 0 ? nil : span
    }

    /// Stores `value` as the form of (`serial`, `node`) and returns where it went.
    func store(serial: Int, node: Int, _ value: [UInt8]) -> Span {
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
        alias(serial: serial, node: node, span)
        return span
    }

    /// Records an existing span as the form of (`serial`, `node`): a form equal to another shares its bytes.
    func alias(serial: Int, node: Int, _ span: Span) {
        if serial >= readyRows { prepareRows(through: serial) }
        spans[serial * columns + node] = span
    }

    private func prepareRows(through serial: Int) {
        if serial >= rowCapacity {
            var capacity = rowCapacity * 2
            while serial >= capacity { capacity *= 2 }
            let larger = UnsafeMutablePointer<Span>.allocate(capacity: capacity * columns)
            larger.moveInitialize(from: spans, count: readyRows * columns)
            spans.deallocate()
            spans = larger
            rowCapacity = capacity
        }
        (spans + readyRows * columns).initialize(repeating: .none, count: (serial + 1 - readyRows) * columns)
        readyRows = serial + 1
    }

    /// The bytes of `span`: valid until the next `store`.
    @inline(__always)
    func buffer(_ span: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + span.offset, count: span.count)
    }
}
