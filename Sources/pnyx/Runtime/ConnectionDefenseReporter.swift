import Atomics
import PnyxCore
import PnyxServer
import PnyxStore
import ServiceLifecycle

/// Turns the connection-level defences' counters into security events: connections refused by a connection limit
/// and slow clients cut, summed over each interval (one event per kind, not one per connection: a slowloris run
/// opens thousands). Connections have no site yet, so the events carry site `-`.
struct ConnectionDefenseReporter: Service {
    let connections: ConnectionGate
    let slowClients: SlowClientCounters
    let events: EventQueue
    var interval: Duration = .seconds(10)

    func run() async throws {
        await runPeriodically(every: interval, state: Snapshot(connections, slowClients)) { last, _ in
            let now = Snapshot(connections, slowClients)
            for (rule, filter, count, what) in now.changes(since: last) where count > 0 {
                events.emit(
                    SecurityEvent(
                        timeMillis: ProxyRuntime.wallMillis(), site: "-", client: "-", filter: filter, rule: rule,
                        action: .block, method: "-", path: "-",
                        evidence: "\(count) \(what) in the last \(interval.components.seconds)s", requestID: "-"))
            }
            last = now
        }
    }

    struct Snapshot: Sendable {
        var refusedTotal, refusedPerAddress, header, body, send: Int
        init(_ gate: ConnectionGate, _ slow: SlowClientCounters) {
            refusedTotal = gate.refusedTotal.load(ordering: .relaxed)
            refusedPerAddress = gate.refusedPerAddress.load(ordering: .relaxed)
            header = slow.header.load(ordering: .relaxed)
            body = slow.body.load(ordering: .relaxed)
            send = slow.send.load(ordering: .relaxed)
        }

        /// (rule, filter, count since `earlier`, description) for each kind.
        func changes(since earlier: Snapshot) -> [(String, String, Int, String)] {
            [
                ("max_connections", "connection_limits", refusedTotal - earlier.refusedTotal,
                 "connections refused: the node's open-connection limit was reached"),
                ("max_connections_per_ip", "connection_limits", refusedPerAddress - earlier.refusedPerAddress,
                 "connections refused: one address's open-connection limit was reached"),
                ("header_read_timeout", "slow_client", header - earlier.header,
                 "connections cut: request head not finished in time (slowloris)"),
                ("min_body_rate", "slow_client", body - earlier.body,
                 "connections or streams cut: request body below the minimum rate (slow POST)"),
                ("min_send_rate", "slow_client", send - earlier.send,
                 "connections or streams cut: response not read at the minimum rate (slow read)"),
            ]
        }
    }
}
