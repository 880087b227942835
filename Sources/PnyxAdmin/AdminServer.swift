import Foundation
import Hummingbird
import Logging
import NIOCore
import PnyxControl
import PnyxCore

/// The admin listener (loopback by default): health, Prometheus metrics, reload and recent events.
/// Everything under `/api/` needs `Authorization: Bearer <admin token>`.
/// The admin listener (loopback by default): health, Prometheus metrics, the JSON API under `/api/v1/` and the
/// dashboard. Who may call what is in ``AdminRoutes/all``: the local admin token (root), a scoped API token,
/// or a dashboard session (password + TOTP) with CSRF protection on every change.
public enum AdminServer {
    public static func makeApplication(
        host: String, port: Int, backend: any AdminBackend, token: AdminToken, control: ControlPlane, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: AdminContext.self)
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            let text = backend.metricsText()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.add(middleware: AuthenticationMiddleware(root: token, control: control))
        let throttle = LoginThrottle()
        LoginPages.register(router, control: control, throttle: throttle)
        SetupPages.register(router, control: control, throttle: throttle)
        let handlers = AdminAPI.handlers(backend: backend, control: control)
            .merging(DashboardPages.handlers(backend: backend, control: control)) { a, _ in a }
            .merging(ReportPages.handlers(backend: backend)) { a, _ in a }
            .merging(AlertHandlers.handlers(backend: backend, control: control)) { a, _ in a }
            .merging(NightPages.handlers(backend: backend, control: control)) { a, _ in a }
            .merging(AccountHandlers.handlers(control: control)) { a, _ in a }
        for spec in AdminRoutes.all {
            guard let handler = handlers[spec.name] else { preconditionFailure("no handler for admin route \(spec.name)") }
            router.on(RouterPath(spec.path), method: spec.method, use: AdminRoutes.guarded(spec, handler, control: control))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "pnyx-admin"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}

struct EventDTO: Codable {
    var id: Int64
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

    init(_ stored: StoredEvent) {
        let event = stored.event
        self.id = stored.id
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

