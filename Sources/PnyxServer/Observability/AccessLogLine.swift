import NIOCore
import PnyxCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Formats one JSON access-log line per request, by hand (no encoder, no Foundation) because it runs for every
/// request. The query string is left out on purpose: polling-place lookups carry home addresses.
enum AccessLogLine {
    static func format(_ context: RequestContext, into out: inout [UInt8]) {
        let end = context.end ?? .now()
        let totalNanos = (end - context.start).nanoseconds
        append("{\"time\":\"", &out)
        appendTime(context.startWallMillis, &out)
        append("\",\"request_id\":\"", &out)
        append(context.id.description, &out)
        append("\",\"site\":", &out)
        appendJSON(context.site.name.rawValue, &out)
        append(",\"client\":\"", &out)
        append(context.client.addressText, &out)
        append("\",\"method\":", &out)
        appendJSON(context.head.method.rawValue, &out)
        append(",\"host\":", &out)
        appendJSON(context.host, &out)
        append(",\"path\":", &out)
        appendJSON(context.path, &out)
        append(",\"proto\":\"", &out)
        append(context.head.version.major == 2 ? "HTTP/2" : "HTTP/\(context.head.version.major).\(context.head.version.minor)", &out)
        append("\",\"status\":", &out)
        append(String(context.status), &out)
        append(",\"bytes_in\":", &out)
        append(String(context.requestBodyBytes), &out)
        append(",\"bytes_out\":", &out)
        append(String(context.responseBodyBytes), &out)
        append(",\"duration_ms\":", &out)
        appendMillis(totalNanos, &out)
        if let upstreamStart = context.upstreamStart, let upstreamHead = context.upstreamHeadAt {
            append(",\"upstream_ms\":", &out)
            appendMillis((upstreamHead - upstreamStart).nanoseconds, &out)
        }
        if let origin = context.origin {
            append(",\"origin\":", &out)
            appendJSON("\(origin.authority)", &out)
        }
        append(",\"outcome\":\"", &out)
        append(context.outcome.rawValue, &out)
        append("\"", &out)
        if let filter = context.decidedBy {
            append(",\"filter\":", &out)
            appendJSON(filter.rawValue, &out)
        }
        if let rule = context.rule {
            append(",\"rule\":", &out)
            appendJSON(rule, &out)
        }
        append("}\n", &out)
    }

    @inline(__always)
    static func append(_ text: String, _ out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    static func appendJSON<S: StringProtocol>(_ text: S, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0..<0x20, 0x7F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendMillis(_ nanos: Int64, _ out: inout [UInt8]) {
        let micros = max(0, nanos / 1000)
        append(String(micros / 1000), &out)
        out.append(UInt8(ascii: "."))
        let frac = micros % 1000
        if frac < 100 { out.append(48) }
        if frac < 10 { out.append(48) }
        append(String(frac), &out)
    }

    static func appendTime(_ millis: Int64, _ out: inout [UInt8]) {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) { out.append(48 + UInt8(v / 10)); out.append(48 + UInt8(v % 10)) }
        append(String(parts.tm_year + 1900), &out)
        out.append(45); two(parts.tm_mon + 1); out.append(45); two(parts.tm_mday)
        out.append(84); two(parts.tm_hour); out.append(58); two(parts.tm_min); out.append(58); two(parts.tm_sec)
        out.append(46)
        let ms = Int(millis % 1000)
        out.append(48 + UInt8(ms / 100)); out.append(48 + UInt8(ms / 10 % 10)); out.append(48 + UInt8(ms % 10))
        out.append(90)
    }
}
