import Logging
import PnyxServer
import ServiceLifecycle

/// Runs the origin health checks (see ``HealthChecker``) four times a second; each origin is checked at its
/// site's own interval.
struct HealthCheckService: Service {
    let checker: HealthChecker
    let logger: Logger

    func run() async throws {
        await runPeriodically(every: .milliseconds(250), state: HealthChecker.Schedule()) { schedule, _ in
            for (site, origin, up) in await checker.round(&schedule) {
                if up {
                    logger.notice("origin is up again", metadata: ["pnyx.site": "\(site)", "pnyx.origin": "\(origin)"])
                } else {
                    logger.error(
                        "origin marked down by its health check; serving from cache where possible",
                        metadata: ["pnyx.site": "\(site)", "pnyx.origin": "\(origin)"])
                }
            }
        }
    }
}
