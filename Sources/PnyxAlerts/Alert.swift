import Foundation
import PnyxCore

/// Something staff should hear about now, as sent to every destination that wants it.
public struct Alert: Sendable, Equatable, Codable {
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

    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded(to: 2) }.joined()
    }

    /// The JSON body a webhook receives.
    public func json() -> Data {
        let body = WireAlert(
            id: id, time: Self.isoTime(timeMillis), kind: kind.rawValue, severity: severity.name, site: site, title: title,
            detail: detail, suppressed: suppressed, node: node)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)) ?? Data("{}".utf8)
    }

    /// `2026-11-03T21:04:05Z`.
    public static func isoTime(_ millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// The documented webhook body (docs/alerts.md).
struct WireAlert: Codable {
    var id: String
    var time: String
    var kind: String
    var severity: String
    var site: String
    var title: String
    var detail: String
    var suppressed: Int
    var node: String
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
