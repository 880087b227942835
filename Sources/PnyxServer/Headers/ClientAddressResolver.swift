import NIOHTTP1
import PnyxCore

/// Finds the real client address. Headers naming a client (`X-Forwarded-For`, `Forwarded`) are believed only
/// when the TCP peer is a trusted proxy, and then read from the right, skipping further trusted proxies, so a
/// client cannot choose its own address by sending the header itself.
struct ClientAddressResolver: Sendable {
    let trusted: AddressRangeSet

    func resolve(peer: IPAddress?, headers: HTTPHeaders) -> ClientIdentity {
        guard let peer, !trusted.isEmpty, trusted.contains(peer) else {
            return ClientIdentity(address: peer, peer: peer, peerIsTrustedProxy: false)
        }
        var chain: [IPAddress] = []
        let forwarded = headers["forwarded"]
        if !forwarded.isEmpty {
            for value in forwarded {
                for element in value.split(separator: ",") {
                    for pair in element.split(separator: ";") {
                        let kv = pair.trimmingSpaces()
                        guard kv.count > 4, kv.prefix(4).lowercased() == "for=" else { continue }
                        if let ip = Self.parseForwardedNode(kv.dropFirst(4)) { chain.append(ip) } else { chain.append(peer) }
                    }
                }
            }
        } else {
            for value in headers["x-forwarded-for"] {
                for item in value.split(separator: ",") {
                    let text = item.trimmingSpaces()
                    if let ip = IPAddress(text) { chain.append(ip) } else if !text.isEmpty { chain.append(peer) }
                }
            }
        }
        // Walk from the nearest hop outwards; the first address that is not a trusted proxy is the client.
        var client = peer
        for ip in chain.reversed() {
            client = ip
            if !trusted.contains(ip) { break }
        }
        return ClientIdentity(address: client, peer: peer, peerIsTrustedProxy: true)
    }

    /// `for=` values: `192.0.2.43`, `"[2001:db8::1]:4711"`, `"192.0.2.1:80"`, `unknown`, `_hidden`.
    static func parseForwardedNode(_ raw: Substring) -> IPAddress? {
        var text = raw
        if text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2 { text = text.dropFirst().dropLast() }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            return IPAddress(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.firstIndex(of: ":"), text.lastIndex(of: ":") == colon { text = text[..<colon] }
        return IPAddress(text)
    }
}
