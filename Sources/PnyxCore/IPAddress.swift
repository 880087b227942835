#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as 128 bits (IPv4 is stored as an IPv4-mapped IPv6 address).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64
    public let isIPv4: Bool

    public init(high: UInt64, low: UInt64, isIPv4: Bool) {
        self.high = high
        self.low = low
        self.isIPv4 = isIPv4
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (brackets and a zone are not accepted).
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("[") && text.hasSuffix("]") {
            text = String(text.dropFirst().dropLast())
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(value), isIPv4: true)
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        self.init(bytes16: bytes)
    }

    /// Builds an address from 16 network-order bytes. IPv4-mapped addresses become IPv4.
    public init(bytes16 bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(bytes[i]) }
        let mapped = hi == 0 && (lo >> 32) == 0xFFFF
        self.init(high: hi, low: lo, isIPv4: mapped)
    }

    /// A well-spread 64-bit hash of the address (splitmix64's finalizer over both halves), for the lock-free
    /// tables keyed by client address (connection counts, rate counters, ban strikes).
    @inline(__always)
    public var hash64: UInt64 {
        var z = high ^ (low &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The IPv4 value, when this is an IPv4 address.
    public var ipv4Value: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    public var description: String {
        if let v4 = ipv4Value {
            return "\(v4 >> 24).\(v4 >> 16 & 0xFF).\(v4 >> 8 & 0xFF).\(v4 & 0xFF)"
        }
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { raw in
            for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
            for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with all bits after `prefixLength` cleared (prefix length counted in the address's own family).
    public func masked(to prefixLength: Int) -> IPAddress {
        let bits = isIPv4 ? prefixLength + 96 : prefixLength
        let (h, l) = IPAddress.mask(bits)
        return IPAddress(high: high & h, low: low & l, isIPv4: isIPv4)
    }

    static func mask(_ bits: Int) -> (UInt64, UInt64) {
        let b = max(0, min(128, bits))
        let h: UInt64 = b >= 64 ? .max : (b == 0 ? 0 : ~(UInt64.max >> UInt64(b)))
        let l: UInt64 = b <= 64 ? 0 : (b == 128 ? .max : ~(UInt64.max >> UInt64(b - 64)))
        return (h, l)
    }
}
