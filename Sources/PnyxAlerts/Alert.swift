import Foundation
import PnyxCore

extension Alert {
    /// The JSON body a webhook receives.
    public func json() -> Data {
        let body = WireAlert(
            id: id, time: iso8601(millis: timeMillis), kind: kind.rawValue, severity: severity.name, site: site, title: title,
            detail: detail, suppressed: suppressed, node: node)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)) ?? Data("{}".utf8)
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
