import Foundation
import PnyxCore

extension Alert {
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
