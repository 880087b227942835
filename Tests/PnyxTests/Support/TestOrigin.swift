import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real origin server for the proxy tests, on a free loopback port. It records the request heads it received
/// so tests can assert exactly what Pnyx forwarded.
final class TestOrigin: Sendable {
    struct Received: Sendable {
        var method: String
        var path: String
        var headers: [(String, String)]
        func values(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
    }

    let port: Int
    private let recorder: Recorder
    private let task: Task<Void, any Error>

    private init(port: Int, recorder: Recorder, task: Task<Void, any Error>) {
        self.port = port
        self.recorder = recorder
        self.task = task
    }

    var requests: [Received] { recorder.received.withLock { $0 } }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    static func start() async throws -> TestOrigin {
        let recorder = Recorder()
        let router = Router()
        router.middlewares.add(RecordingMiddleware(recorder: recorder))
        router.get("/") { _, _ in "hello from origin\n" }
        router.get("/page") { _, _ in "page\n" }
        router.get("/slow") { request, _ -> String in
            let ms = request.uri.queryParameters.get("ms", as: Int.self) ?? 1000
            try await Task.sleep(for: .milliseconds(ms))
            return "slow done\n"
        }
        router.get("/download") { request, _ -> Response in
            let total = request.uri.queryParameters.get("bytes", as: Int.self) ?? 1024
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream", .contentLength: String(total)],
                body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: 0x61, count: 64 * 1024)
                    var left = total
                    while left > 0 {
                        let n = min(left, chunk.readableBytes)
                        try await writer.write(chunk.getSlice(at: 0, length: n)!)
                        left -= n
                    }
                    try await writer.finish(nil)
                })
        }
        router.post("/upload") { request, _ -> String in
            var count = 0
            for try await chunk in request.body { count += chunk.readableBytes }
            return "received \(count)\n"
        }
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        // An origin leaking a database error into its page (what CRS's RESPONSE-951 rules look for).
        router.get("/leak") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(
                    string: "<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</p>\n")))
        }
        // The same leak in the answer to a form POST (a registration form whose database query broke).
        router.post("/leak") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(
                    string: "<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</p>\n")))
        }
        router.get("/hop") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [
                    .connection: "keep-alive, x-origin-private", HTTPField.Name("x-origin-private")!: "secret",
                    HTTPField.Name("keep-alive")!: "timeout=5", .contentType: "text/plain",
                    HTTPField.Name("x-powered-by")!: "PHP/5.4",
                ],
                body: .init(byteBuffer: ByteBuffer(string: "hop\n")))
        }
        let (port, task) = try await serveOnLoopback(router, label: "test-origin")
        return TestOrigin(port: port, recorder: recorder, task: task)
    }
}

/// Runs a Hummingbird router on a loopback port (a free one by default); returns the port and the task to cancel
/// to stop it.
func serveOnLoopback<Router: HTTPResponderBuilder>(
    _ router: Router, label: String, port: Int = 0, logLevel: Logger.Level = .error
) async throws -> (port: Int, task: Task<Void, any Error>)
where Router.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let ports = AsyncStream<Int>.makeStream()
    var logger = Logger(label: label)
    logger.logLevel = logLevel
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
        onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
    let task = Task { try await app.runService() }
    var iterator = ports.stream.makeAsyncIterator()
    guard let port = await iterator.next() else { throw TestFailure("\(label) did not start") }
    return (port, task)
}

final class Recorder: Sendable {
    let received = Mutex<[TestOrigin.Received]>([])
}

struct RecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let recorder: Recorder
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = [("host", request.head.authority ?? "")] + request.headers.map { ($0.name.canonicalName, $0.value) }
        var target = request.uri.path
        if let query = request.uri.query { target += "?" + query }
        recorder.received.withLock {
            $0.append(TestOrigin.Received(method: request.method.rawValue, path: target, headers: headers))
        }
        return try await next(request, context)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
