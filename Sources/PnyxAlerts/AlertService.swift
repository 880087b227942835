import AsyncHTTPClient
import Logging
import NIOCore
import PnyxCore
import ServiceLifecycle
import Synchronization

/// Watches what the node records (events as they are written, refusal counts as they are tallied), raises alerts
/// through ``AlertEngine`` and delivers them. Nothing here is on the data path: it is fed by the event writer and
/// the tally recorder, through a bounded stream that drops (and counts) input if delivery ever falls behind.
public final class AlertService: Service, Sendable {
    public enum Input: Sendable {
        case events([SecurityEvent])
        case refused([(site: String, count: Int)], nowMillis: Int64)
    }

    private let stream: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation
    private let settings: @Sendable () -> AlertSettings
    private let delivery: AlertDelivery
    private let record: @Sendable (AlertRecord) async -> Void
    private let logger: Logger
    private let nodeName: String
    private let engine = Mutex(AlertEngine())
    /// Inputs dropped because the stream was full.
    public let droppedInputs = Atomic<Int>(0)

    /// - Parameters:
    ///   - settings: read for every alert, so a reload's new destinations apply at once.
    ///   - record: keeps each alert and its delivery results (the control database).
    public init(
        settings: @escaping @Sendable () -> AlertSettings, group: any EventLoopGroup, httpClient: HTTPClient = .shared,
        logger: Logger, retryDelays: [Duration] = [.seconds(2), .seconds(10)],
        record: @escaping @Sendable (AlertRecord) async -> Void
    ) {
        (stream, continuation) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .bufferingNewest(10_000))
        self.settings = settings
        self.delivery = AlertDelivery(group: group, httpClient: httpClient, logger: logger, retryDelays: retryDelays)
        self.record = record
        self.logger = logger
        self.nodeName = settings().node ?? SMTPClient.localName()
    }

    /// Events just written to the store.
    public func accept(events: [SecurityEvent]) { offer(.events(events)) }

    /// Refusals per site since the last call (every 10 s).
    public func accept(refused: [(site: String, count: Int)], nowMillis: Int64) { offer(.refused(refused, nowMillis: nowMillis)) }

    private func offer(_ input: Input) {
        if case .dropped = continuation.yield(input) { droppedInputs.add(1, ordering: .relaxed) }
    }

    /// Sends a test alert to every destination now and returns how it went (the dashboard's "send a test" button).
    public func sendTest(requestedBy who: String) async -> AlertRecord {
        let alert = Alert(
            timeMillis: wallMillis(), kind: .test, severity: .info, site: "",
            title: "Test alert from Pnyx",
            detail: "\(who) asked Pnyx to send this test. If you can read it, alerts reach this destination.", node: nodeName)
        return await handle(alert)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { tasks in
            tasks.addTask { [continuation] in
                await withGracefulShutdownHandler {
                    await Self.waitForever()
                } onGracefulShutdown: {
                    continuation.finish()
                }
            }
            for await input in stream {
                let current = settings()
                let node = current.node ?? nodeName
                let alerts = engine.withLock { engine -> [Alert] in
                    switch input {
                    case .events(let events): engine.take(events: events, settings: current, node: node)
                    case .refused(let counts, let now): engine.take(refused: counts, nowMillis: now, settings: current, node: node)
                    }
                }
                for alert in alerts {
                    tasks.addTask { _ = await self.handle(alert) }
                }
            }
            tasks.cancelAll()
        }
    }

    private func handle(_ alert: Alert) async -> AlertRecord {
        logger.notice(
            "alert: \(alert.title)",
            metadata: ["pnyx.alert": "\(alert.id)", "pnyx.alert.kind": "\(alert.kind.rawValue)", "pnyx.site": "\(alert.site)"])
        let results = await delivery.deliver(alert, settings: settings())
        let entry = AlertRecord(alert: alert, deliveries: results)
        await record(entry)
        return entry
    }

    private static func waitForever() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
