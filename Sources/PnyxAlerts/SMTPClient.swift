import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PnyxCore

/// Sends one message per connection through a mail server: EHLO, STARTTLS (or TLS from the start), AUTH PLAIN
/// or LOGIN, MAIL, RCPT, DATA, QUIT. Any reply other than the expected one fails the delivery with the server's
/// words; with `starttls` a server that does not offer it is refused rather than sent to in the clear.
struct SMTPClient: Sendable {
    let settings: SMTPSettings
    let group: any EventLoopGroup
    var timeout: Duration = .seconds(30)
    var heloName: String = SMTPClient.localName()

    func send(from: String, to: [String], data: String) async throws {
        let tls = try makeTLSContext()
        let (stream, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let implicitTLS = settings.security == .tls
        let host = settings.host
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: SMTPClient.sniName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler(continuation))
                }
            }
            .connect(host: settings.host, port: settings.port).get()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.converse(channel: channel, replies: stream, tls: tls, from: from, to: to, data: data) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw DeliveryError("the mail server did not finish within \(timeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            try? await channel.close().get()
            throw error
        }
        try? await channel.close().get()
    }

    private func converse(
        channel: any Channel, replies: AsyncThrowingStream<SMTPReply, any Error>, tls: NIOSSLContext?, from: String, to: [String],
        data: String
    ) async throws {
        var incoming = replies.makeAsyncIterator()
        func expect(_ codes: Set<Int>, after step: String) async throws -> SMTPReply {
            guard let reply = try await incoming.next() else { throw DeliveryError("the mail server closed the connection after \(step)") }
            guard codes.contains(reply.code) else { throw DeliveryError("the mail server refused \(step): \(reply.code) \(reply.text)") }
            return reply
        }
        func say(_ line: String, _ codes: Set<Int>, step: String? = nil) async throws -> SMTPReply {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
            return try await expect(codes, after: step ?? String(line.prefix(4)))
        }

        _ = try await expect([220], after: "connecting")
        var capabilities = try await say("EHLO \(heloName)", [250]).lines.map { $0.uppercased() }
        if settings.security == .starttls {
            guard capabilities.contains(where: { $0.hasPrefix("STARTTLS") }), let tls else {
                throw DeliveryError("the mail server does not offer STARTTLS; set security: none only for a relay on loopback")
            }
            _ = try await say("STARTTLS", [220])
            let host = settings.host
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: tls, serverHostname: SMTPClient.sniName(host)), position: .first)
            }.get()
            capabilities = try await say("EHLO \(heloName)", [250]).lines.map { $0.uppercased() }
        }
        if let username = settings.username, let password = settings.password {
            let mechanisms = capabilities.first { $0.hasPrefix("AUTH") }?.split(separator: " ").map(String.init) ?? []
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                _ = try await say("AUTH PLAIN \(token)", [235], step: "the user name and password (AUTH PLAIN)")
            } else {
                _ = try await say("AUTH LOGIN", [334])
                _ = try await say(Data(username.utf8).base64EncodedString(), [334], step: "the user name (AUTH LOGIN)")
                _ = try await say(Data(password.utf8).base64EncodedString(), [235], step: "the password (AUTH LOGIN)")
            }
        }
        _ = try await say("MAIL FROM:<\(from)>", [250], step: "the sender \(from)")
        for address in to {
            _ = try await say("RCPT TO:<\(address)>", [250, 251], step: "the recipient \(address)")
        }
        _ = try await say("DATA", [354])
        try await channel.writeAndFlush(ByteBuffer(string: data)).get()
        _ = try await expect([250], after: "the message")
        _ = try? await say("QUIT", [221])
    }

    private func makeTLSContext() throws -> NIOSSLContext? {
        guard settings.security != .none else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca = settings.caFile {
            configuration.additionalTrustRoots = [.file(ca)]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// SNI carries names, not addresses.
    static func sniName(_ host: String) -> String? {
        host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    static func localName() -> String { hostName() }
}
