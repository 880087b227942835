import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// An origin whose answers a cache test steers: version (the body and ETag), Cache-Control, delay, status.
/// It counts the requests it gets per path and answers `If-None-Match` with 304.
final class CacheOrigin: Sendable {
    struct Behavior: Sendable {
        var version = 1
        var cacheControl = "max-age=60"
        var delayMilliseconds = 0
        var status = 200
    }

    let port: Int
    private let shared: SharedState
    private let task: Task<Void, any Error>

    private init(port: Int, shared: SharedState, task: Task<Void, any Error>) {
        self.port = port
        self.shared = shared
        self.task = task
    }

    func count(_ path: String) -> Int { shared.counts.withLock { $0[path] ?? 0 } }
    /// The `If-None-Match` values received, in order.
    var ifNoneMatch: [String] { shared.conditionals.withLock { $0 } }
    func set(_ change: (inout Behavior) -> Void) { shared.behavior.withLock { change(&$0) } }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    static func start(port: Int = 0) async throws -> CacheOrigin {
        let shared = SharedState()
        let router = Router()
        router.get("/r/{name}") { request, context -> Response in
            let path = request.uri.path
            shared.counts.withLock { $0[path, default: 0] += 1 }
            let b = shared.behavior.withLock { $0 }
            if b.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(b.delayMilliseconds)) }
            let etag = "\"v\(b.version)\""
            var headers: HTTPFields = [.contentType: "text/plain", .cacheControl: b.cacheControl, .eTag: etag]
            if let inm = request.headers[.ifNoneMatch] {
                shared.conditionals.withLock { $0.append(inm) }
                if inm == etag && b.status == 200 { return Response(status: .notModified, headers: headers) }
            }
            if request.uri.query?.contains("cookie") == true { headers[.setCookie] = "session=abc" }
            let name = context.parameters.get("name") ?? ""
            return Response(
                status: .init(code: b.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "\(name) v\(b.version)\n")))
        }
        router.get("/vary") { request, _ -> Response in
            shared.counts.withLock { $0["/vary", default: 0] += 1 }
            let language = request.headers[.acceptLanguage] ?? "none"
            return Response(
                status: .ok, headers: [.cacheControl: "max-age=60", .vary: "Accept-Language"],
                body: .init(byteBuffer: ByteBuffer(string: "language \(language)\n")))
        }
        router.get("/big") { request, _ -> Response in
            let bytes = request.uri.queryParameters.get("bytes", as: Int.self) ?? 1000
            let path = "/big?bytes=\(bytes)&n=\(request.uri.queryParameters.get("n") ?? "")"
            shared.counts.withLock { $0[path, default: 0] += 1 }
            return Response(
                status: .ok, headers: [.cacheControl: "max-age=60"],
                body: .init(byteBuffer: ByteBuffer(repeating: 0x62, count: bytes)))
        }
        router.get("/healthz") { _, _ -> Response in
            let b = shared.behavior.withLock { $0 }
            return Response(status: .init(code: b.status), body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        let (bound, task) = try await serveOnLoopback(router, label: "cache-origin", port: port, logLevel: .critical)
        return CacheOrigin(port: bound, shared: shared, task: task)
    }

    final class SharedState: Sendable {
        let behavior = Mutex(Behavior())
        let counts = Mutex<[String: Int]>([:])
        let conditionals = Mutex<[String]>([])
    }
}
