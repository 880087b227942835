import PnyxAlerts
import PnyxControl

extension StoredAlert {
    /// An alert and its delivery results as the control database keeps them.
    init(_ record: AlertRecord) {
        let a = record.alert
        self.init(
            id: a.id, timeMillis: a.timeMillis, kind: a.kind.rawValue, severity: a.severity.name, site: a.site, title: a.title,
            detail: a.detail, suppressed: a.suppressed,
            deliveries: record.deliveries.map {
                StoredAlert.Delivery(destination: $0.destination, delivered: $0.delivered, attempts: $0.attempts, error: $0.error)
            })
    }
}
