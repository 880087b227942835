import Logging
import PnyxAlerts
import PnyxControl
import PnyxCore
import PnyxServer
import PnyxStore
import ServiceLifecycle

/// Every 10 seconds (and at shutdown), adds each site's requests and refusals to the event database's hourly table,
/// for the dashboard's statistics and the officials' reports. A failing store loses those counts, never a request.
struct TallyRecorder: Service {
    let tally: RequestTally
    let store: any EventStore
    let logger: Logger
    /// Told the refusals per site at every flush (spike alerts).
    var alerts: AlertService?
    var interval: Duration = .seconds(10)

    func run() async throws {
        await runPeriodically(every: interval, state: ()) { _, _ in await flush() }
        await flush()
    }

    func flush() async {
        let now = wallMillis()
        let counts = tally.drain().map { TrafficCount(site: $0.site, startMillis: now, requests: $0.requests, blocked: $0.blocked) }
        alerts?.accept(refused: counts.map { ($0.site, $0.blocked) }, nowMillis: now)
        guard !counts.isEmpty else { return }
        do {
            try await store.addTraffic(counts)
        } catch {
            logger.warning("cannot record request counts", metadata: ["error": "\(error)"])
        }
    }
}
