import NIOCore
import PnyxCore

/// An origin with its socket address resolved when the configuration was loaded, so no DNS lookup ever runs on
/// an event loop. (Names are resolved again on every reload.)
public struct ResolvedOrigin: Sendable, Hashable {
    public let address: OriginAddress
    public let socketAddress: SocketAddress
    /// The fields' hash, computed once: the connection pools key by it, so a request hashes no strings.
    let poolKey: Int

    public init(address: OriginAddress, socketAddress: SocketAddress) {
        self.address = address
        self.socketAddress = socketAddress
        var hasher = Hasher()
        hasher.combine(address)
        hasher.combine(socketAddress)
        self.poolKey = hasher.finalize()
    }

    public static func resolve(_ origin: OriginAddress) throws -> ResolvedOrigin {
        let socketAddress = try SocketAddress.makeAddressResolvingHost(origin.host, port: origin.port)
        return ResolvedOrigin(address: origin, socketAddress: socketAddress)
    }
}
