/// A set of IPv4 and IPv6 networks for lists with thousands of entries: the networks become sorted, merged
/// address ranges, and a lookup is a binary search (about 12 comparisons for 4,000 entries), no allocation.
public struct AddressRangeSet: Sendable, Equatable {
    /// Inclusive ranges of 128-bit addresses (IPv4 as IPv4-mapped), sorted and not overlapping.
    private let starts: [UInt128Value]
    private let ends: [UInt128Value]

    public init(_ networks: [CIDR]) {
        var ranges = networks.map { network -> (UInt128Value, UInt128Value) in
            let bits = network.network.isIPv4 ? 96 + network.prefixLength : network.prefixLength
            let start = UInt128Value(network.network)
            return (start, start.withHostBits(128 - bits))
        }
        ranges.sort { $0.0 < $1.0 }
        var starts: [UInt128Value] = []
        var ends: [UInt128Value] = []
        for (start, end) in ranges {
            if let last = ends.last, start <= last.successorOrSelf {
                if end > last { ends[ends.count - 1] = end }
            } else {
                starts.append(start)
                ends.append(end)
            }
        }
        self.starts = starts
        self.ends = ends
    }

    public var isEmpty: Bool { starts.isEmpty }
    /// Number of merged ranges.
    public var rangeCount: Int { starts.count }

    public func contains(_ address: IPAddress) -> Bool {
        guard !starts.isEmpty else { return false }
        let value = UInt128Value(address)
        // The last range starting at or before the address.
        var low = 0, high = starts.count
        while low < high {
            let mid = (low + high) / 2
            if starts[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low > 0 && value <= ends[low - 1]
    }
}

/// A 128-bit address value with ordering (the standard library's UInt128 needs a newer OS on some platforms).
struct UInt128Value: Comparable, Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ address: IPAddress) {
        self.init(high: address.high, low: address.low)
    }

    static func < (a: Self, b: Self) -> Bool { a.high < b.high || (a.high == b.high && a.low < b.low) }

    /// The value with its lowest `count` bits set (the last address of a network).
    func withHostBits(_ count: Int) -> Self {
        if count <= 0 { return self }
        if count >= 128 { return Self(high: .max, low: .max) }
        if count >= 64 { return Self(high: high | (count == 64 ? 0 : (UInt64.max >> (128 - count))), low: .max) }
        return Self(high: high, low: low | (UInt64.max >> (64 - count)))
    }

    /// The next value (ranges that touch are merged), or self at the top.
    var successorOrSelf: Self {
        if low < .max { return Self(high: high, low: low + 1) }
        if high < .max { return Self(high: high + 1, low: 0) }
        return self
    }
}
