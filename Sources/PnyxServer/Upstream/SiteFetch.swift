import NIOCore
import NIOHTTP1
import PnyxCore

/// Fetches a path of a site straight from one of its origins, as the origin serves it (no filters, no cache):
/// what `pnyx integrity pin` approves.
public enum SiteFetch {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public var contentEncoding: String?
    }

    public enum Problem: Error, CustomStringConvertible {
        case unknownSite(String)
        case failed(String, String)
        public var description: String {
            switch self {
            case .unknownSite(let site): return "no site is named '\(site)'"
            case .failed(let target, let why): return "cannot fetch \(target) from the origin: \(why)"
            }
        }
    }

    /// The site's first host name (the `Host` the origin is asked for).
    public static func primaryHost(runtime: ProxyRuntime, site: String) -> String? {
        runtime.snapshots.snapshot.router.route(named: site)?.site.configuration.hosts.first { !$0.hasPrefix("*.") }
    }

    public static func fetch(runtime: ProxyRuntime, group: any EventLoopGroup, site: String, target: String, maxBody: Int) async throws -> Response {
        guard let route = runtime.snapshots.snapshot.router.route(named: site) else { throw Problem.unknownSite(site) }
        let host = route.site.configuration.hosts.first { !$0.hasPrefix("*.") } ?? route.origins.first?.address.authority ?? "localhost"
        var headers = HeaderBlock()
        _ = headers.add(name: "host", value: host)
        headers.add(literalName: "user-agent", literalValue: "pnyx-integrity")
        headers.add(literalName: "via", literalValue: "1.1 pnyx")
        let head = UpstreamRequestHead(method: .GET, uri: target, headers: headers)
        let loop = group.next()
        let pool = runtime.pools.pool(for: loop)
        do {
            let fetched = try await loop.submit {
                OriginFetch.run(
                    pool: pool, origin: route.pickOrigin(), head: head, connectTimeout: route.connectTimeout,
                    responseTimeout: route.responseTimeout, maxBody: maxBody)
            }.flatMap { $0 }.get()
            return Response(
                status: Int(fetched.head.status.code), contentType: fetched.head.headers.first(name: "content-type") ?? "",
                body: Array(fetched.body.readableBytesView), contentEncoding: fetched.head.headers.first(name: "content-encoding"))
        } catch OriginFetchError.tooLarge {
            throw Problem.failed(target, "longer than \(maxBody) bytes")
        } catch {
            throw Problem.failed(target, "\(error)")
        }
    }
}
