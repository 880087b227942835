import PnyxConfig
import PnyxCore
import PnyxServer

/// The order of the data path's filters. Protections from later modules (WAF, traffic defense, challenge,
/// cache, integrity) are inserted between the standard head and tail filters here.
enum PipelineFactory {
    static func makeChain(configuration: PnyxConfiguration, sites: [Site], accessLog: AccessLogSink?) -> FilterChain {
        let head = StandardFilters.head()
        let protections: [any Filter] = []
        let tail = StandardFilters.tail(
            configuration: configuration, sites: sites,
            blockingFilters: (head + protections).map(\.name), accessLog: accessLog)
        return FilterChain(head + protections + tail)
    }
}
