import PnyxConfig
import PnyxCore

/// The filters every site gets from the proxy itself. Protections from other modules go between
/// `head` (which run first) and `tail` (which observe the finished request).
public enum StandardFilters {
    /// Filters that refuse malformed or oversized requests before any protection looks at them.
    public static func head() -> [any Filter] {
        [RequestLimitsFilter()]
    }

    /// Response decoration, metrics and the access log.
    public static func tail(
        configuration: PnyxConfiguration, sites: [Site], blockingFilters: [FilterName], accessLog: AccessLogSink?
    ) -> [any Filter] {
        var filters: [any Filter] = [
            SecurityHeadersFilter(),
            MetricsFilter(sites: sites, filterNames: blockingFilters),
        ]
        if let accessLog { filters.append(AccessLogFilter(sink: accessLog)) }
        return filters
    }
}
