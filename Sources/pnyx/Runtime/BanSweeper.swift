import NIOCore
import PnyxCore
import PnyxDefense
import PnyxServer
import PnyxStore
import ServiceLifecycle

/// Removes expired bans every few seconds and records each expiry as a security event, so the event log shows
/// when a ban ended as well as when it began.
struct BanSweeper: Service {
    let registry: BanRegistry
    let events: EventQueue
    var interval: Duration = .seconds(2)

    func run() async throws {
        await runPeriodically(every: interval, state: ()) { _, _ in
            let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
            for ban in registry.sweep(nowSeconds: now) {
                events.emit(Self.event(for: ban, rule: "ban_expired", evidence: "ban ended: \(ban.reason)"))
            }
        }
    }

    static func event(for ban: Ban, rule: String, evidence: String) -> SecurityEvent {
        SecurityEvent(
            timeMillis: ProxyRuntime.wallMillis(), site: ban.site, client: ban.address.description, filter: "ban",
            rule: rule, action: .log, method: "-", path: "-", evidence: evidence, requestID: "-")
    }
}
