import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A webhook receiver on loopback (`POST /hook`) that keeps every delivery's headers and body.
struct WebhookSink: Sendable {
    struct Delivery: Sendable {
        var headers: [String: String]
        var body: Data
    }

    final class Recorder: Sendable {
        let deliveries = Mutex<[Delivery]>([])
    }

    let port: Int
    let recorder: Recorder
    let task: Task<Void, any Error>

    var deliveries: [Delivery] { recorder.deliveries.withLock { $0 } }
    var url: String { "http://127.0.0.1:\(port)/hook" }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    static func start() async throws -> WebhookSink {
        let recorder = Recorder()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            recorder.deliveries.withLock { $0.append(Delivery(headers: headers, body: Data(buffer: body))) }
            return Response(status: .noContent)
        }
        let (port, task) = try await serveOnLoopback(router, label: "webhook sink")
        return WebhookSink(port: port, recorder: recorder, task: task)
    }
}

/// Python's aiosmtpd as a mail server on loopback (Tests/Fixtures/smtp-sink.py): every message it accepts is a
/// JSON line in a file.
final class SMTPSink: @unchecked Sendable {
    struct Message {
        var from: String
        var to: [String]
        var data: String
        var tls: Bool
        var user: String?
    }

    let port: Int
    let process: Process
    let file: String

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/smtp-sink.py").path
    }

    /// With `certificate`, STARTTLS is offered and required; with `user`, AUTH is required.
    static func start(certificate: (pem: String, key: String)? = nil, user: (name: String, password: String)? = nil) async throws -> SMTPSink {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-smtp-\(UUID().uuidString.prefix(8)).jsonl").path
        var arguments = [script, file]
        if let certificate { arguments += ["--cert", certificate.pem, "--key", certificate.key] }
        if let user { arguments += ["--user", user.name, "--password", user.password] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let line: String? = await withCheckedContinuation { continuation in
            Thread {
                var bytes = Data()
                while true {
                    let chunk = PipeReading.readSome(output.fileHandleForReading)
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                    if bytes.contains(UInt8(ascii: "\n")) { break }
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }.start()
        }
        guard let line, line.hasPrefix("ready "), let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            let stderr = String(decoding: PipeReading.readSome(errors.fileHandleForReading), as: UTF8.self)
            throw TestFailure("the SMTP sink (aiosmtpd) did not start: \(line ?? "") \(stderr)")
        }
        return SMTPSink(port: port, process: process, file: file)
    }

    private init(port: Int, process: Process, file: String) {
        self.port = port
        self.process = process
        self.file = file
    }

    var messages: [Message] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Message(
                from: object["from"] as? String ?? "", to: object["to"] as? [String] ?? [], data: object["data"] as? String ?? "",
                tls: object["tls"] as? Bool ?? false, user: object["user"] as? String)
        }
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
    }
}
