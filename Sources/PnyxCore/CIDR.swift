/// An IPv4 or IPv6 network, e.g. `10.0.0.0/8` or `2001:db8::/32`. A bare address is a /32 or /128.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    /// Prefix length in the family's own bits (0–32 for IPv4, 0–128 for IPv6).
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let maxBits = address.isIPv4 ? 32 : 128
        var length = maxBits
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maxBits).contains(parsed) else { return nil }
            length = parsed
        }
        self.network = address.masked(to: length)
        self.prefixLength = length
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.isIPv4 == network.isIPv4 else { return false }
        return address.masked(to: prefixLength) == network
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
