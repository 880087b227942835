import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Sends raw bytes to a TCP port and returns everything the server sends back until it closes the connection
/// or `timeout` passes. For malformed-request tests and exact wire checks.
enum RawHTTP {
    static func exchange(port: Int, _ request: String, timeout: Duration = .seconds(10)) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let collected = Collected()
        let closer = Task {
            try? await Task.sleep(for: timeout)
            try? await channel.channel.close()
        }
        defer { closer.cancel() }
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: request))
                for try await chunk in inbound { collected.append(chunk) }
            }
        } catch {
            // A reset or a close by the timeout: return what arrived, unless nothing did.
            if collected.text.isEmpty { throw error }
        }
        return collected.text
    }

    final class Collected: Sendable {
        private let buffer = Mutex(ByteBuffer())
        func append(_ chunk: ByteBuffer) { buffer.withLock { $0.writeImmutableBuffer(chunk) } }
        var text: String { buffer.withLock { String(buffer: $0) } }
    }

    /// A simple GET over a fresh connection with `Connection: close`. Returns (status, headers, body).
    static func get(
        port: Int, path: String = "/", host: String = "vote.test", headers: [(String, String)] = []
    ) async throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        return Response(raw: try await exchange(port: port, request))
    }

    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: String
        var raw: String

        init(raw: String) {
            self.raw = raw
            let parts = raw.components(separatedBy: "\r\n\r\n")
            let head = parts.first ?? ""
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.isEmpty ? "" : lines.removeFirst()
            status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
            headers = lines.compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            body = parts.dropFirst().joined(separator: "\r\n\r\n")
        }

        func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    }
}
