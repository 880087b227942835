// loadgen: attackers and legitimate clients from many loopback source addresses, side by side, for
// bench/flood.sh. Attackers send requests back to back on keep-alive connections as fast as the server answers;
// legitimate clients each send one request every interval and record status and latency.
//
//   loadgen PORT DURATION_S ATTACK_ADDRESSES ATTACK_CONNECTIONS_PER_ADDRESS LEGIT_CLIENTS LEGIT_INTERVAL_MS
//
// Attackers bind 127.0.1.1 … (ATTACK_ADDRESSES of them, up to 127.0.255.254), legitimate clients 127.100.0.1 ….
// Prints one line of key=value results.
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
if args.count != 7 || args.dropFirst().contains(where: { Double($0) == nil }) {
    print("usage: loadgen PORT DURATION_S ATTACK_ADDRESSES CONNECTIONS_PER_ADDRESS LEGIT_CLIENTS LEGIT_INTERVAL_MS")
    exit(2)
}
let port = Int(args[1])!
let duration = Double(args[2])!
let attackAddresses = Int(args[3])!
let perAddress = Int(args[4])!
let legitClients = Int(args[5])!
let intervalMillis = Int64(args[6])!

func address(_ base: UInt32, _ n: Int) -> String {
    let v = base + UInt32(n / 254) << 8 + UInt32(n % 254 + 1)
    return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
}

/// Results, only touched on the single event loop.
final class Stats {
    var attackSent = 0
    var attackStatuses: [Int: Int] = [:]
    var attackConnects = 0
    var legitSent = 0
    var legitOK = 0
    var legitFailed: [String: Int] = [:]
    var legitLatencies: [Double] = []
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
// Only touched on the single event loop.
nonisolated(unsafe) let stats = Stats()
let deadline = NIODeadline.now() + .milliseconds(Int64(duration * 1000))
let request: (String) -> HTTPRequestHead = { path in
    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
    head.headers.add(name: "host", value: "vote.test")
    head.headers.add(name: "user-agent", value: "loadgen")
    return head
}

/// One client connection: sends a request, waits for the whole response, then the next (at once for attackers,
/// after the interval for legitimate clients). Reconnects when the server closes.
final class Client: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let legit: Bool
    let source: String
    let path: String
    var started: NIODeadline = .now()
    var status = 0
    var waiting = false
    var timeout: Scheduled<Void>?

    init(legit: Bool, source: String, path: String) {
        self.legit = legit
        self.source = source
        self.path = path
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
    }

    func send(_ context: ChannelHandlerContext) {
        guard NIODeadline.now() < deadline, context.channel.isActive else { return }
        started = .now()
        waiting = true
        if legit {
            stats.legitSent += 1
            let channel = context.channel
            timeout = context.eventLoop.scheduleTask(in: .seconds(5)) { [weak self] in
                guard let self, self.waiting else { return }
                self.waiting = false
                stats.legitFailed["timeout", default: 0] += 1
                channel.close(promise: nil)
            }
        } else {
            stats.attackSent += 1
        }
        context.write(wrapOutboundOut(.head(request(path))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            guard waiting else { return }
            waiting = false
            timeout?.cancel()
            if legit {
                if status == 200 {
                    stats.legitOK += 1
                    stats.legitLatencies.append(Double((NIODeadline.now() - started).nanoseconds) / 1e6)
                } else {
                    stats.legitFailed["status \(status)", default: 0] += 1
                }
                let next = started + .milliseconds(intervalMillis)
                context.eventLoop.scheduleTask(deadline: next) { [weak self] in
                    guard let self else { return }
                    self.send(context)
                }
            } else {
                stats.attackStatuses[status, default: 0] += 1
                send(context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if waiting {
            waiting = false
            if legit { stats.legitFailed["connection closed", default: 0] += 1 } else { stats.attackStatuses[0, default: 0] += 1 }
        }
        // Reconnect (a legitimate client after its interval, an attacker at once) until the run ends.
        let legit = self.legit, source = self.source, path = self.path
        context.eventLoop.scheduleTask(in: legit ? .milliseconds(intervalMillis) : .milliseconds(1)) {
            connect(legit: legit, source: source, path: path)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@Sendable func connect(legit: Bool, source: String, path: String) {
    guard NIODeadline.now() < deadline else { return }
    if !legit { stats.attackConnects += 1 }
    ClientBootstrap(group: loop)
        .channelOption(.socketOption(.so_reuseaddr), value: 1)
        .connectTimeout(.seconds(3))
        .bind(to: try! SocketAddress(ipAddress: source, port: 0))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(Client(legit: legit, source: source, path: path))
            }
        }
        .connect(host: "127.0.0.1", port: port)
        .whenFailure { _ in
            if legit { stats.legitFailed["connect failed", default: 0] += 1 }
            loop.scheduleTask(in: legit ? .milliseconds(intervalMillis) : .milliseconds(10)) {
                connect(legit: legit, source: source, path: path)
            }
        }
}

loop.execute {
    for a in 0..<attackAddresses {
        for _ in 0..<perAddress { connect(legit: false, source: address(0x7F01_0000, a), path: "/") }
    }
    for c in 0..<legitClients { connect(legit: true, source: address(0x7F64_0000, c), path: "/page") }
}
usleep(UInt32((duration + 1.5) * 1_000_000))
let summary = try! loop.submit { () -> String in
    let sorted = stats.legitLatencies.sorted()
    func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    let attack2xx = stats.attackStatuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +)
    let statuses = stats.attackStatuses.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    let failures = stats.legitFailed.map { "\($0.key.split(separator: " ").joined(separator: "_")):\($0.value)" }.joined(separator: ",")
    return "attack_requests=\(stats.attackSent) attack_rps=\(Int(Double(stats.attackSent) / duration)) attack_2xx=\(attack2xx) "
        + "attack_statuses=\(statuses) attack_connects=\(stats.attackConnects) legit_requests=\(stats.legitSent) legit_ok=\(stats.legitOK) "
        + "legit_success=\(stats.legitSent == 0 ? 0 : Double(stats.legitOK) / Double(stats.legitSent)) "
        + "legit_p50_ms=\(percentile(0.5)) legit_p99_ms=\(percentile(0.99)) legit_failures=\(failures.isEmpty ? "none" : failures)"
}.wait()
print(summary)
try? group.syncShutdownGracefully()
