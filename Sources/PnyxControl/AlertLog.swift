import GRDB
import PnyxCore

/// The alerts raised on this node, newest first; the last 5,000 are kept.
public struct AlertLog: Sendable {
    let database: ControlDatabase
    public static let kept = 5_000

    public func add(_ record: AlertRecord) async throws {
        let alert = record.alert
        try await database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO alerts (id, time_ms, kind, severity, site, title, detail, suppressed, deliveries)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    alert.id, alert.timeMillis, alert.kind.rawValue, alert.severity.name, alert.site, alert.title, alert.detail,
                    alert.suppressed, Self.encode(record.deliveries),
                ])
            try db.execute(
                sql: "DELETE FROM alerts WHERE id NOT IN (SELECT id FROM alerts ORDER BY time_ms DESC LIMIT ?)",
                arguments: [Self.kept])
        }
    }

    /// The newest alerts, for the given sites (an alert for the whole node, site "", is shown to everyone).
    public func recent(limit: Int, sites: [String]?) async throws -> [AlertRecord] {
        try await database.pool.read { db in
            var sql = "SELECT * FROM alerts"
            var arguments: [any DatabaseValueConvertible] = []
            if let sites {
                sql += " WHERE site = '' OR site IN (\(sites.map { _ in "?" }.joined(separator: ",")))"
                arguments += sites
            }
            sql += " ORDER BY time_ms DESC LIMIT ?"
            arguments.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                let alert = Alert(
                    id: row["id"], timeMillis: row["time_ms"], kind: AlertKind(rawValue: row["kind"]) ?? .test,
                    severity: AlertSeverity(name: row["severity"]) ?? .info, site: row["site"], title: row["title"],
                    detail: row["detail"], suppressed: row["suppressed"])
                return AlertRecord(alert: alert, deliveries: Self.decode(row["deliveries"]))
            }
        }
    }

    /// One line per destination: `delivered<TAB>attempts<TAB>destination<TAB>error`.
    static func encode(_ deliveries: [DeliveryResult]) -> String {
        deliveries.map { d in
            [d.delivered ? "1" : "0", "\(d.attempts)", clean(d.destination), clean(d.error ?? "")].joined(separator: "\t")
        }.joined(separator: "\n")
    }

    static func decode(_ text: String) -> [DeliveryResult] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4 else { return nil }
            return DeliveryResult(destination: f[2], delivered: f[0] == "1", attempts: Int(f[1]) ?? 0, error: f[3].isEmpty ? nil : f[3])
        }
    }

    private static func clean(_ text: String) -> String {
        String(text.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
