/// HTTP dates (RFC 9110 §5.6.7) as seconds since the Unix epoch: the preferred IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and, as a recipient must, the obsolete RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) forms. No Foundation.
public enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Parses an HTTP date; nil when it is not one (a cache then treats the field as invalid, e.g. `Expires: 0`
    /// means already expired).
    public static func parse(_ text: some StringProtocol) -> Int64? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { String($0) }
        switch parts.count {
        case 6 where parts[5] == "GMT":
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            return build(day: parts[1], month: parts[2], year: parts[3], time: parts[4])
        case 4 where parts[3] == "GMT":
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            let date = parts[1].split(separator: "-").map(String.init)
            guard date.count == 3, let yy = Int(date[2]) else { return nil }
            // A two-digit year more than 50 years ahead is in the past century (RFC 9110 §5.6.7).
            let year = date[2].count == 2 ? (yy < 70 ? 2000 + yy : 1900 + yy) : yy
            return build(day: date[0], month: date[1], year: String(year), time: parts[2])
        case 5 where parts[4].allSatisfy(\.isNumber):
            // asctime: Sun Nov  6 08:49:37 1994
            return build(day: parts[2], month: parts[1], year: parts[4], time: parts[3])
        default:
            return nil
        }
    }

    /// Formats seconds since the epoch as an IMF-fixdate.
    public static func format(_ seconds: Int64) -> String {
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let rest = Int(seconds - Int64(days) * 86400)
        let (y, m, d) = civil(fromDays: days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let month = months[m - 1].prefix(1).uppercased() + months[m - 1].dropFirst()
        return "\(weekday), \(two(d)) \(month) \(y) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) GMT"
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func build(day: String, month: String, year: String, time: String) -> Int64? {
        guard let d = Int(day), let y = Int(year), let m = months.firstIndex(of: month.lowercased()) else { return nil }
        let clock = time.split(separator: ":")
        guard clock.count == 3, let hh = Int(clock[0]), let mm = Int(clock[1]), let ss = Int(clock[2]),
            (1...31).contains(d), (0...23).contains(hh), (0...59).contains(mm), (0...60).contains(ss), y >= 1970
        else { return nil }
        return Int64(daysFromCivil(year: y, month: m + 1, day: d)) * 86400 + Int64(hh * 3600 + mm * 60 + ss)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
