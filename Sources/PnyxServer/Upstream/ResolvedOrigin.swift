import NIOCore
import PnyxCore

/// An origin with its socket address resolved when the configuration was loaded, so no DNS lookup ever runs on
/// an event loop. (Names are resolved again on every reload.)
public struct ResolvedOrigin: Sendable, Hashable {
    public let address: OriginAddress
    public let socketAddress: SocketAddress

    public init(address: OriginAddress, socketAddress: SocketAddress) {
        self.address = address
        self.socketAddress = socketAddress
    }

    public static func resolve(_ origin: OriginAddress) throws -> ResolvedOrigin {
        let socketAddress = try SocketAddress.makeAddressResolvingHost(origin.host, port: origin.port)
        return ResolvedOrigin(address: origin, socketAddress: socketAddress)
    }
}
