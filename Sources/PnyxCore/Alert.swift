/// Something staff should hear about now, as sent to every destination that wants it (``AlertSettings``).
public struct Alert: Sendable, Equatable {
    /// Random, unique: a receiver drops a repeat delivery with the same id.
    public var id: String
    public var timeMillis: Int64
    public var kind: AlertKind
    public var severity: AlertSeverity
    /// The site it is about ("" for the whole node).
    public var site: String
    /// One line, for a subject or a chat message.
    public var title: String
    /// A few plain sentences: what happened and what to look at.
    public var detail: String
    /// Alerts like this one that were held back since the last one sent (see `AlertSettings.repeatWindow`).
    public var suppressed: Int
    /// The node that saw it.
    public var node: String

    public init(
        id: String = Alert.newID(), timeMillis: Int64, kind: AlertKind, severity: AlertSeverity, site: String, title: String,
        detail: String, suppressed: Int = 0, node: String = ""
    ) {
        self.id = id
        self.timeMillis = timeMillis
        self.kind = kind
        self.severity = severity
        self.site = site
        self.title = title
        self.detail = detail
        self.suppressed = suppressed
        self.node = node
    }

    /// 32 hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<32).map { _ in digits[Int.random(in: 0..<16, using: &generator)] })
    }
}

/// How one alert fared at one destination.
public struct DeliveryResult: Sendable, Equatable {
    /// The destination's label (never its secret).
    public var destination: String
    public var delivered: Bool
    public var attempts: Int
    /// The last failure, if it never got through.
    public var error: String?

    public init(destination: String, delivered: Bool, attempts: Int, error: String? = nil) {
        self.destination = destination
        self.delivered = delivered
        self.attempts = attempts
        self.error = error
    }
}

/// An alert and how its delivery went, as the control database keeps it and the dashboard and API show it.
public struct AlertRecord: Sendable, Equatable {
    public var alert: Alert
    public var deliveries: [DeliveryResult]

    public init(alert: Alert, deliveries: [DeliveryResult]) {
        self.alert = alert
        self.deliveries = deliveries
    }
}
