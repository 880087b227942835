import Dispatch
import PnyxCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Looks names and addresses up in DNS. Blocking: the verifier calls it on a queue of its own, never on an
/// event loop. Tests inject a fake.
public protocol HostResolver: Sendable {
    /// The PTR names of `address` (empty if none).
    func reverse(_ address: IPAddress) -> [String]
    /// The addresses `name` resolves to.
    func forward(_ name: String) -> [IPAddress]
}

/// Tells real search engines and web archives from clients that only say they are one: a request whose
/// User-Agent claims a known crawler is let through once its address's reverse DNS name ends in the crawler's
/// domain and that name resolves back to the address (the check Google and Bing document). Results are kept for an
/// hour (bounded); while a check runs, the crawler is asked to come back shortly.
public final class GoodBotVerifier: Sendable {
    public enum Status: Equatable, Sendable {
        /// The User-Agent claims no known crawler.
        case notABot
        case verified(String)
        /// DNS does not confirm the claim.
        case impostor
        /// Being checked: come back in a few seconds.
        case pending
    }

    struct Entry {
        var verified: String?
        var until: Int64
    }

    private let resolver: any HostResolver
    private let queue = DispatchQueue(label: "pnyx.challenge.good-bots")
    private let results = Mutex<[IPAddress: Entry]>([:])
    private let pending = Mutex<Set<IPAddress>>([])
    static let capacity = 10_000
    static let ttl: Int64 = 3600

    public init(resolver: any HostResolver = SystemResolver()) {
        self.resolver = resolver
    }

    /// The crawler `userAgent` claims to be, among `bots`.
    public static func claimed(_ userAgent: String, bots: [GoodBot]) -> GoodBot? {
        let lower = userAgent.lowercased()
        return bots.first { lower.contains($0.userAgent) }
    }

    /// What is known about `address` claiming to be `bot`; starts a check if nothing is.
    public func status(of address: IPAddress, claiming bot: GoodBot, now: Int64) -> Status {
        if let entry = results.withLock({ $0[address] }), entry.until > now {
            return entry.verified == nil ? .impostor : .verified(entry.verified!)
        }
        let start = pending.withLock { set -> Bool in
            if set.contains(address) || set.count >= 256 { return false }
            set.insert(address)
            return true
        }
        if start {
            queue.async {
                let verified = Self.confirm(address, bot: bot, resolver: self.resolver)
                self.results.withLock { results in
                    if results.count >= Self.capacity { results.removeAll(keepingCapacity: true) }
                    results[address] = Entry(verified: verified ? bot.name : nil, until: now + Self.ttl)
                }
                _ = self.pending.withLock { $0.remove(address) }
            }
        }
        return .pending
    }

    /// Reverse lookup, domain check, forward confirmation.
    public static func confirm(_ address: IPAddress, bot: GoodBot, resolver: any HostResolver) -> Bool {
        for name in resolver.reverse(address) {
            var host = name.lowercased()
            if host.hasSuffix(".") { host.removeLast() }
            guard bot.domains.contains(where: { host == $0 || host.hasSuffix("." + $0) }) else { continue }
            if resolver.forward(host).contains(address) { return true }
        }
        return false
    }
}

/// The system resolver (`getnameinfo`, `getaddrinfo`).
public struct SystemResolver: HostResolver {
    public init() {}

    public func reverse(_ address: IPAddress) -> [String] {
        var storage = sockaddr_storage()
        var length: socklen_t
        if let v4 = address.ipv4Value {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_addr.s_addr = v4.bigEndian
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: withUnsafeBytes(of: &sin) { UnsafeRawBufferPointer($0) }) }
        } else {
            guard let parsed = IPAddress.text(address), let sin6 = Self.sockaddr6(parsed) else { return [] }
            var copy = sin6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: withUnsafeBytes(of: &copy) { UnsafeRawBufferPointer($0) }) }
        }
        var host = [CChar](repeating: 0, count: 1025)
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
            }
        }
        guard result == 0 else { return [] }
        return [String(cString: host)]
    }

    static func sockaddr6(_ text: String) -> sockaddr_in6? {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        guard inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1 else { return nil }
        return sin6
    }

    public func forward(_ name: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if let address = current.pointee.ai_addr {
                if current.pointee.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        var addr = sin.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                    }
                } else if current.pointee.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        var addr = sin6.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                    }
                }
                if let parsed = IPAddress(String(cString: buffer)) { out.append(parsed) }
            }
            node = current.pointee.ai_next
        }
        return out
    }
}

extension IPAddress {
    /// The address as text for system calls.
    static func text(_ address: IPAddress) -> String? { address.description }
}
