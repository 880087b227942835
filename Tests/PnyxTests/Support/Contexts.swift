import NIOCore
import NIOHTTP1
import PnyxCore

/// A request context for filter unit tests: a GET (or `method`) of `path` on `site` from `client`, started at
/// `seconds` on the monotonic clock (a fake clock: tests choose the time), or now.
func requestContext(
    site: Site, client: String?, path: String = "/", method: HTTPMethod = .GET, at seconds: Double? = nil,
    sink: any EventSink = DiscardingEventSink()
) -> RequestContext {
    let address = client.flatMap { IPAddress($0) }
    return RequestContext(
        id: RequestID(1), site: site, client: ClientIdentity(address: address, peer: address, peerIsTrustedProxy: false),
        head: HTTPRequestHead(version: .http1_1, method: method, uri: path), scheme: "http",
        host: site.configuration.hosts.first ?? "x",
        start: seconds.map { .uptimeNanoseconds(UInt64($0 * 1e9)) } ?? .now(), startWallMillis: 1_700_000_000_000,
        events: sink)
}

/// A site for filter unit tests (outside any snapshot).
func testSite(_ name: String = "county", rateLimits: [RateLimitRule] = []) -> Site {
    Site(configuration: SiteConfiguration(name: SiteName(name), hosts: ["vote.test"], origins: [], rateLimits: rateLimits))
}
