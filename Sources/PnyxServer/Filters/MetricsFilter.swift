import Metrics
import NIOCore
import PnyxCore

/// Counts requests per site and status class, blocks per site and filter, origin errors, and request duration.
/// Every label value is bounded: site names from the configuration, five status classes, filter names.
public final class MetricsFilter: Filter {
    public let name: FilterName = "metrics"
    public var phases: PhaseSet { .complete }

    /// A class: a per-request lookup then costs one retain, not one per field.
    final class SiteMetrics: Sendable {
        let byStatusClass: [Counter]
        let blocked: [FilterName: Counter]
        let upstreamErrors: Counter
        let duration: Metrics.Timer

        init(byStatusClass: [Counter], blocked: [FilterName: Counter], upstreamErrors: Counter, duration: Metrics.Timer) {
            self.byStatusClass = byStatusClass
            self.blocked = blocked
            self.upstreamErrors = upstreamErrors
            self.duration = duration
        }
    }

    /// Keyed by the snapshot's `Site` objects (an integer hash, not the name).
    private let sites: SiteTable<SiteMetrics>
    private let unmatched: SiteMetrics

    /// - Parameter filterNames: the filters that can block, so their counters exist before the first block.
    public init(sites: [Site], filterNames: [FilterName]) {
        self.sites = SiteTable(sites) { Self.make(site: $0.name.rawValue, filterNames: filterNames) }
        self.unmatched = Self.make(site: "-", filterNames: filterNames)
    }

    static func make(site: String, filterNames: [FilterName]) -> SiteMetrics {
        let classes = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"].map { statusClass in
            Counter(label: "http_server_requests_total", dimensions: [("site", site), ("status_class", statusClass)])
        }
        var blocked: [FilterName: Counter] = [:]
        for filter in filterNames + [.core] {
            blocked[filter] = Counter(
                label: "pnyx_requests_blocked_total", dimensions: [("site", site), ("filter", filter.rawValue)])
        }
        return SiteMetrics(
            byStatusClass: classes, blocked: blocked,
            upstreamErrors: Counter(label: "pnyx_upstream_errors_total", dimensions: [("site", site)]),
            duration: Metrics.Timer(
                label: "http_server_request_duration_seconds", dimensions: [("site", site)],
                preferredDisplayUnit: .seconds))
    }

    public func complete(_ context: RequestContext) {
        let metrics = sites[context.site] ?? unmatched
        let statusClass = context.status / 100
        metrics.byStatusClass[(1...5).contains(statusClass) ? statusClass : 0].increment()
        switch context.outcome {
        case .blocked:
            if let filter = context.decidedBy { metrics.blocked[filter]?.increment() }
        case .upstreamError:
            metrics.upstreamErrors.increment()
        default:
            break
        }
        if let end = context.end {
            metrics.duration.recordNanoseconds((end - context.start).nanoseconds)
        }
    }
}
