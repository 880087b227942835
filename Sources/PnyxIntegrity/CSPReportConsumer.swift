import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore

/// Takes a browser's CSP violation report (`application/csp-report`, or the Reporting API's
/// `application/reports+json`) for the script inventory, and answers 204.
/// Used on one event loop only (see ``RequestBodyConsumer``).
final class CSPReportConsumer: RequestBodyConsumer, @unchecked Sendable {
    let watch: ScriptWatch
    let hosts: [String]
    let now: Int64
    var body = ByteBuffer()
    let limit = 64 * 1024

    init(watch: ScriptWatch, hosts: [String], now: Int64) {
        self.watch = watch
        self.hosts = hosts
        self.now = now
    }

    func consume(_ chunk: ByteBuffer) { body.writeImmutableBuffer(chunk) }

    func finish(_ context: RequestContext) -> LocalResponse {
        for report in Self.parse(Array(body.readableBytesView)) where report.directive.hasPrefix("script-src") {
            watch.reported(blocked: report.blocked, document: report.document, sample: report.sample, siteHosts: hosts, now: now)
        }
        var headers = HTTPHeaders()
        headers.add(name: "cache-control", value: "no-store")
        return LocalResponse(status: .noContent, headers: headers)
    }

    struct Report: Equatable {
        var blocked: String
        var document: String
        var directive: String
        var sample: String?
    }

    /// Both report formats; anything else yields nothing.
    static func parse(_ bytes: [UInt8]) -> [Report] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return [] }
        func report(_ body: [String: Any], legacy: Bool) -> Report? {
            let blocked = (body[legacy ? "blocked-uri" : "blockedURL"] as? String) ?? ""
            let document = (body[legacy ? "document-uri" : "documentURL"] as? String) ?? ""
            let directive = (body[legacy ? "effective-directive" : "effectiveDirective"] as? String)
                ?? (body["violated-directive"] as? String) ?? ""
            let sample = body[legacy ? "script-sample" : "sample"] as? String
            return Report(blocked: blocked, document: document, directive: directive, sample: sample)
        }
        if let object = json as? [String: Any], let body = object["csp-report"] as? [String: Any] {
            return report(body, legacy: true).map { [$0] } ?? []
        }
        if let list = json as? [[String: Any]] {
            return list.prefix(100).compactMap { item in
                guard (item["type"] as? String) == "csp-violation", let body = item["body"] as? [String: Any] else { return nil }
                return report(body, legacy: false)
            }
        }
        return []
    }
}
