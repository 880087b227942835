import NIOCore
import NIOPosix

// A bare SwiftNIO TCP relay for bench/proxy.sh (RELAY=1): one upstream connection per client connection, bytes
// glued both ways, no HTTP parsing at all. It is the ceiling a NIO proxy can reach on the machine, printed beside
// nginx and Pnyx. Not part of Pnyx.
//
//   relay LISTEN_PORT UPSTREAM_PORT
final class Glue: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var partner: Channel?
    var context: ChannelHandlerContext?
    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.write(data, promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.flush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let upstreamPort = Int(CommandLine.arguments[2])!
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.autoRead, value: false)
    .childChannelInitializer { client in
        let glueC = Glue()
        let glueU = Glue()
        return ClientBootstrap(group: client.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { up in up.pipeline.addHandler(glueU) }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMap { up in
                glueC.partner = up
                glueU.partner = client
                return client.pipeline.addHandler(glueC).map {
                    client.setOption(.autoRead, value: true).whenComplete { _ in }
                }
            }
    }
    .bind(host: "127.0.0.1", port: Int(CommandLine.arguments[1])!).wait()
try server.closeFuture.wait()
