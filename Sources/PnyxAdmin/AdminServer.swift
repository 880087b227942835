import Foundation
import Hummingbird
import Logging
import NIOCore
import PnyxCore

/// The admin listener (loopback by default): health, Prometheus metrics, reload and recent events.
/// Everything under `/api/` needs `Authorization: Bearer <admin token>`.
public enum AdminServer {
    public static func makeApplication(
        host: String, port: Int, backend: any AdminBackend, token: AdminToken, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            let text = backend.metricsText()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let api = router.group("api/v1").add(middleware: TokenMiddleware(token: token))
        api.post("reload") { _, _ -> Response in
            let result = await backend.reload()
            return try json(result, status: result.ok ? .ok : .unprocessableContent)
        }
        api.get("status") { _, _ -> Response in
            try json(await backend.status())
        }
        api.get("events") { request, _ -> Response in
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
            let site = request.uri.queryParameters.get("site")
            let events = try await backend.recentEvents(limit: limit, site: site).map(EventDTO.init)
            return try json(events)
        }
        api.get("bans") { _, _ -> Response in
            try json(backend.bans())
        }
        api.delete("bans") { _, _ -> Response in
            try json(["cleared": try backend.clearBans(address: nil)])
        }
        api.delete("bans/:address") { _, context -> Response in
            let address = context.parameters.get("address") ?? ""
            do {
                return try json(["cleared": try backend.clearBans(address: address)])
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("cache/purge") { request, context -> Response in
            let input = try await decode(PurgeRequest.self, request, context)
            let urls = input.urls ?? []
            guard !urls.isEmpty || input.prefix != nil || input.all == true else {
                return try json(["error": "say what to purge: urls, prefix, or all: true"], status: .badRequest)
            }
            do {
                return try json(["purged": try await backend.purgeCache(site: input.site, urls: urls, prefix: input.prefix)])
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("cache/publish") { request, context -> Response in
            let input = try await decode(PublishRequest.self, request, context)
            guard !input.urls.isEmpty else { return try json(["error": "no urls to publish"], status: .badRequest) }
            do {
                let outcomes = try await backend.publish(site: input.site, urls: input.urls)
                return try json(outcomes)
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        if let integrity = backend as? any IntegrityAdmin { addIntegrityRoutes(api, integrity) }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "pnyx-admin"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// `GET /api/v1/integrity?site=S`, `POST /api/v1/integrity/pin`, `/approve`, `/unpin`.
    static func addIntegrityRoutes<Context: Hummingbird.RequestContext>(_ api: RouterGroup<Context>, _ integrity: any IntegrityAdmin) {
        api.get("integrity") { request, _ -> Response in
            guard let site = request.uri.queryParameters.get("site") else { return try json(["error": "give ?site=NAME"], status: .badRequest) }
            do {
                return try json(try integrity.integrityStatus(site: site))
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("integrity/pin") { request, context -> Response in
            let input = try await decode(PinRequest.self, request, context)
            guard !input.paths.isEmpty, input.paths.allSatisfy({ $0.hasPrefix("/") }) else {
                return try json(["error": "give paths starting with '/'"], status: .badRequest)
            }
            do {
                return try json(try await integrity.pin(site: input.site, paths: input.paths, depth: min(max(input.depth ?? 0, 0), 5)))
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("integrity/approve") { request, context -> Response in
            let input = try await decode(PathRequest.self, request, context)
            do {
                return try json(try await integrity.approve(site: input.site, path: input.path))
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.get("integrity/scripts") { request, _ -> Response in
            guard let site = request.uri.queryParameters.get("site") else { return try json(["error": "give ?site=NAME"], status: .badRequest) }
            do {
                return try json(try integrity.scripts(site: site))
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("integrity/scripts/approve") { request, context -> Response in
            let input = try await decode(ApproveScriptsRequest.self, request, context)
            guard input.all == true || !(input.ids ?? []).isEmpty else {
                return try json(["error": "give ids, or all: true"], status: .badRequest)
            }
            do {
                return try json(["approved": try integrity.approveScripts(site: input.site, ids: input.all == true ? nil : input.ids)])
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
        api.post("integrity/unpin") { request, context -> Response in
            let input = try await decode(PathRequest.self, request, context)
            do {
                return try json(["unpinned": try await integrity.unpin(site: input.site, path: input.path)])
            } catch let error as AdminInputError {
                return try json(["error": error.message], status: .badRequest)
            }
        }
    }

    static func decode<T: Decodable, Context: Hummingbird.RequestContext>(
        _ type: T.Type, _ request: Request, _ context: Context
    ) async throws -> T {
        let body = try await request.body.collect(upTo: 1 << 20)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: Data(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "invalid JSON body: \(error)")
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct EventDTO: Codable {
    var time: String
    var site: String
    var client: String
    var filter: String
    var rule: String
    var action: String
    var method: String
    var path: String
    var evidence: String
    var requestId: String

    init(_ event: SecurityEvent) {
        let date = Date(timeIntervalSince1970: Double(event.timeMillis) / 1000)
        self.time = date.formatted(.iso8601)
        self.site = event.site
        self.client = event.client
        self.filter = event.filter
        self.rule = event.rule
        self.action = event.action.rawValue
        self.method = event.method
        self.path = event.path
        self.evidence = event.evidence
        self.requestId = event.requestID
    }
}

struct TokenMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
    let token: AdminToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            token.matches(header.dropFirst("Bearer ".count))
        else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"admin token required\"}\n")))
        }
        return try await next(request, context)
    }
}
