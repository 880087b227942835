/// Something a filter decided that security staff should see: a block, a ban, an alert.
///
/// Events are emitted without waiting through an ``EventSink`` (a bounded queue in front of a store).
public struct SecurityEvent: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case block, log, challenge, ban, alert, allow
    }

    /// Milliseconds since the Unix epoch.
    public var timeMillis: Int64
    public var site: String
    public var client: String
    public var filter: String
    public var rule: String
    public var action: Action
    public var method: String
    public var path: String
    public var evidence: String
    public var requestID: String

    public static let maxPathBytes = 512
    public static let maxEvidenceBytes = 256

    public init(
        timeMillis: Int64, site: String, client: String, filter: String, rule: String, action: Action,
        method: String, path: String, evidence: String, requestID: String
    ) {
        self.timeMillis = timeMillis
        self.site = site
        self.client = client
        self.filter = filter
        self.rule = rule
        self.action = action
        self.method = method
        self.path = SecurityEvent.truncate(path, to: SecurityEvent.maxPathBytes)
        self.evidence = SecurityEvent.truncate(evidence, to: SecurityEvent.maxEvidenceBytes)
        self.requestID = requestID
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        if text.utf8.count <= limit { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: limit)
        while end > text.startIndex && !text.unicodeScalars.indices.contains(end) {
            end = text.utf8.index(before: end)
        }
        return String(text[..<end]) + "…"
    }
}

/// Where filters send events. `emit` never blocks and never fails the request: a full queue drops and counts.
public protocol EventSink: Sendable {
    func emit(_ event: SecurityEvent)
}

/// An event sink that discards everything (for tools and tests that do not record events).
public struct DiscardingEventSink: EventSink {
    public init() {}
    public func emit(_ event: SecurityEvent) {}
}

/// Forwards to a shared sink. Each event-loop replica of a snapshot holds its own, so the per-request reference
/// a `RequestContext` keeps is to a loop-local object, not to the shared queue (whose reference count would
/// otherwise bounce between cores on every request).
public final class ReplicaEventSink: EventSink {
    public let target: any EventSink
    public init(_ target: any EventSink) { self.target = target }
    public func emit(_ event: SecurityEvent) { target.emit(event) }
}
