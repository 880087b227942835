import Foundation
import PnyxCore

/// An alert as a plain-text email (RFC 5322), ready for SMTP's DATA (CRLF lines, dot-stuffed, ending `.`).
enum MailMessage {
    static func subject(for alert: Alert) -> String {
        "[Pnyx \(alert.severity.name)] \(alert.title)"
    }

    static func body(for alert: Alert) -> String {
        var lines = [alert.title, "", alert.detail, ""]
        lines.append("Site:     \(alert.site.isEmpty ? "(the whole node)" : alert.site)")
        lines.append("Kind:     \(alert.kind.rawValue)")
        lines.append("Severity: \(alert.severity.name)")
        lines.append("When:     \(iso8601(millis: alert.timeMillis)) (UTC)")
        if !alert.node.isEmpty { lines.append("Node:     \(alert.node)") }
        if alert.suppressed > 0 {
            lines.append("")
            lines.append("\(alert.suppressed) more alert\(alert.suppressed == 1 ? "" : "s") like this one were held back since the last one sent.")
        }
        lines.append("")
        lines.append("Alert id: \(alert.id)")
        lines.append("-- ")
        lines.append("Sent by Pnyx, the security edge in front of your election website.")
        return lines.joined(separator: "\r\n")
    }

    /// The whole message for DATA, including the terminating line.
    static func data(for alert: Alert, from: String, to: [String], messageDomain: String) -> String {
        let body = body(for: alert)
        let ascii = body.utf8.allSatisfy { $0 < 0x80 }
        var headers = [
            "From: Pnyx <\(from)>",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(encodedHeader(subject(for: alert)))",
            "Date: \(rfc5322Date(alert.timeMillis))",
            "Message-ID: <\(alert.id).\(to.count)@\(messageDomain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Auto-Submitted: auto-generated",
            "X-Pnyx-Alert-Kind: \(alert.kind.rawValue)",
            "X-Pnyx-Severity: \(alert.severity.name)",
        ]
        let encodedBody: String
        if ascii {
            headers.append("Content-Transfer-Encoding: 7bit")
            encodedBody = body.split(separator: "\r\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        } else {
            headers.append("Content-Transfer-Encoding: base64")
            let base64 = Data(body.utf8).base64EncodedString()
            var chunks: [String] = []
            var index = base64.startIndex
            while index < base64.endIndex {
                let end = base64.index(index, offsetBy: 76, limitedBy: base64.endIndex) ?? base64.endIndex
                chunks.append(String(base64[index..<end]))
                index = end
            }
            encodedBody = chunks.joined(separator: "\r\n")
        }
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + encodedBody + "\r\n.\r\n"
    }

    /// RFC 2047 for a header with non-ASCII text; header lines never carry CR or LF.
    static func encodedHeader(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.utf8.allSatisfy({ $0 < 0x80 }) { return clean }
        return "=?utf-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
