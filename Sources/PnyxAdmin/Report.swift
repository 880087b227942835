import Foundation
import PnyxCore

/// The officials' report for one site or a whole state over a date range: requests and blocked requests per
/// day (by kind), the peak day, and notable incidents (escalations, defacement and script alerts, origin
/// outages). Rendered as text (`pnyx report`), CSV and a printable HTML page, all from the same numbers.
public struct Report: Sendable, Equatable {
    public struct Day: Sendable, Equatable {
        public var day: String
        public var requests: Int
        /// Refused requests (events with action `block`).
        public var blocked: Int
        public var challenged: Int
        /// Refusals by kind (the filter that refused).
        public var byKind: [String: Int]
    }

    public var title: String
    public var sites: [String]
    public var fromDay: String
    public var toDay: String
    public var days: [Day]
    public var kinds: [String]
    public var incidents: [StoredEvent]

    public var totalRequests: Int { days.reduce(0) { $0 + $1.requests } }
    public var totalBlocked: Int { days.reduce(0) { $0 + $1.blocked } }
    public var peak: Day? { days.max { $0.blocked < $1.blocked }.flatMap { $0.blocked > 0 ? $0 : nil } }

    /// Events that belong in a report's incident list.
    public static func isIncident(_ event: SecurityEvent) -> Bool {
        switch event.filter {
        case "escalation", "health": return true
        case "integrity": return event.action == .alert || event.action == .block
        default: return false
        }
    }

    /// - Parameters: `from`/`to` are the range's start (inclusive) and end (exclusive), on UTC day boundaries.
    public init(
        title: String, sites: [String], fromMillis: Int64, toMillis: Int64, traffic: [TrafficCount], counts: [EventCount],
        incidents: [StoredEvent]
    ) {
        self.title = title
        self.sites = sites
        let dayCount = max(1, Int((toMillis - fromMillis + 86_399_999) / 86_400_000))
        let labels = (0..<dayCount).map { Report.day(fromMillis + Int64($0) * 86_400_000) }
        self.fromDay = labels.first ?? ""
        self.toDay = labels.last ?? ""
        var days = labels.map { Day(day: $0, requests: 0, blocked: 0, challenged: 0, byKind: [:]) }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        for t in traffic { if let i = index[t.day] { days[i].requests += t.requests } }
        var kinds = Set<String>()
        for c in counts {
            guard let i = index[c.day] else { continue }
            switch c.action {
            case "block":
                days[i].blocked += c.count
                days[i].byKind[c.filter, default: 0] += c.count
                kinds.insert(c.filter)
            case "challenge":
                days[i].challenged += c.count
            default:
                break
            }
        }
        self.days = days
        self.kinds = kinds.sorted()
        self.incidents = incidents.sorted { $0.event.timeMillis < $1.event.timeMillis }
    }

    /// A date range from `YYYY-MM-DD` texts (either may be nil: the last `defaultDays` days up to today).
    public static func range(from: String?, to: String?, defaultDays: Int = 30, now: Int64) throws -> (Int64, Int64) {
        let end = try to.map { try AdminAPI.parseTime($0, endOfDay: true) } ?? (now / 86_400_000 + 1) * 86_400_000
        let start = try from.map { try AdminAPI.parseTime($0) } ?? end - Int64(defaultDays) * 86_400_000
        guard start < end else { throw AdminInputError("'from' must be before 'to'") }
        return (start, end)
    }

    public static func day(_ millis: Int64) -> String { UTCTime.day(millis) }

    public var csv: String {
        func field(_ s: String) -> String { s.contains(where: { ",\"\n".contains($0) }) ? "\"\(s.replacingOccurrences(of: "\"", with: "\"\""))\"" : s }
        var out = (["date", "requests", "blocked", "challenged"] + kinds.map { "blocked_\($0)" }).joined(separator: ",") + "\r\n"
        for d in days {
            out += ([d.day, String(d.requests), String(d.blocked), String(d.challenged)] + kinds.map { String(d.byKind[$0] ?? 0) })
                .map(field).joined(separator: ",") + "\r\n"
        }
        return out
    }

    public var text: String {
        var out = "\(title)\n\(sites.isEmpty ? "all sites" : sites.joined(separator: ", ")), \(fromDay) to \(toDay) (UTC)\n\n"
        out += "Requests: \(totalRequests)    Blocked: \(totalBlocked)"
        if let peak { out += "    Peak day: \(peak.day) (\(peak.blocked) blocked)" }
        out += "\n\n"
        let header = ["DATE".padded(12), "REQUESTS".padded(10), "BLOCKED".padded(9), "CHALLENGED".padded(11)] + kinds.map { $0.uppercased().padded(12) }
        out += header.joined(separator: " ") + "\n"
        for d in days {
            out += ([d.day.padded(12), String(d.requests).padded(10), String(d.blocked).padded(9), String(d.challenged).padded(11)]
                + kinds.map { String(d.byKind[$0] ?? 0).padded(12) }).joined(separator: " ") + "\n"
        }
        out += "\nNotable incidents: \(incidents.isEmpty ? "none" : "")\n"
        for i in incidents {
            let e = i.event
            out += "  \(Report.time(e.timeMillis))  \(e.site)  \(e.filter)  \(e.rule)  \(e.evidence)\n"
        }
        out += "\nAn attack on a website does not change any vote: votes are not cast or counted through it.\n"
        return out
    }

    static func time(_ millis: Int64) -> String { UTCTime.minutes(millis) }
}

/// Times as the dashboard and reports print them (UTC).
enum UTCTime {
    static func parts(_ millis: Int64) -> tm {
        var t = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return parts
    }

    /// `2026-11-03`
    static func day(_ millis: Int64) -> String {
        let p = parts(millis)
        return String(format: "%04d-%02d-%02d", p.tm_year + 1900, p.tm_mon + 1, p.tm_mday)
    }

    /// `2026-11-03 20:15 UTC`
    static func minutes(_ millis: Int64) -> String {
        let p = parts(millis)
        return day(millis) + String(format: " %02d:%02d UTC", p.tm_hour, p.tm_min)
    }

    /// `2026-11-03 20:15:07 UTC`
    static func seconds(_ millis: Int64) -> String {
        let p = parts(millis)
        return day(millis) + String(format: " %02d:%02d:%02d UTC", p.tm_hour, p.tm_min, p.tm_sec)
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
