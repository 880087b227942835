import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 client for the CLI's calls to the admin listener (one request, `Connection: close`).
enum SimpleHTTPClient {
    struct Response {
        var status: Int
        var body: String
    }

    static func request(
        host: String, port: Int, method: String, path: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var request = "\(method) \(path) HTTP/1.1\r\nhost: \(host):\(port)\r\nconnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "content-length: \(body.utf8.count)\r\n\r\n\(body)"
        var raw = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            for try await chunk in inbound { raw.writeImmutableBuffer(chunk) }
        }
        let text = String(buffer: raw)
        guard let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
            let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return Response(status: 0, body: text) }
        let bodyStart = text.range(of: "\r\n\r\n").map { text[$0.upperBound...] } ?? ""
        return Response(status: code, body: String(bodyStart))
    }
}

extension String {
    func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
