import NIOCore
import NIOHTTP1
import PnyxCache
import PnyxCore

/// Purge and publish for the admin API and `pnyx cache …`.
public enum CachePublisher {
    public struct Outcome: Sendable, Codable, Equatable {
        public var url: String
        /// `stored`, `uncacheable`, `failed` or `busy` (a fetch of it was already running).
        public var result: String
        public var detail: String
    }

    public enum Problem: Error, CustomStringConvertible {
        case unknownSite(String)
        case badURL(String)
        public var description: String {
            switch self {
            case .unknownSite(let site): return "no site is named '\(site)'"
            case .badURL(let url): return "expected a path such as /results or a URL such as https://vote.example.gov/results, got '\(url)'"
            }
        }
    }

    /// Splits `/path?q` or `scheme://host[:port]/path?q` into host (nil for a bare path) and target.
    static func parse(_ url: String) -> (host: String?, target: String)? {
        if url.hasPrefix("/") { return (nil, url) }
        for scheme in ["https://", "http://"] where url.lowercased().hasPrefix(scheme) {
            let rest = url.dropFirst(scheme.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var host = String(rest[..<slash]).lowercased()
            if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
            let target = slash == rest.endIndex ? "/" : String(rest[slash...])
            guard !host.isEmpty else { return nil }
            return (host, target)
        }
        return nil
    }

    /// Removes stored responses of `site`: the listed URLs (any host of the site), everything under `prefix`,
    /// or everything. Returns how many keys were removed.
    public static func purge(runtime: ProxyRuntime, site: String, urls: [String], prefix: String?) async throws -> Int {
        guard runtime.snapshots.snapshot.router.route(named: site) != nil else { throw Problem.unknownSite(site) }
        if !urls.isEmpty {
            let targets = try urls.map { url -> String in
                guard let parsed = parse(url) else { throw Problem.badURL(url) }
                return parsed.target
            }
            return await runtime.cache.purge(site: site, targets: targets)
        }
        if let prefix {
            guard prefix.hasPrefix("/") else { throw Problem.badURL(prefix) }
            return await runtime.cache.purge(site: site, prefix: prefix)
        }
        return await runtime.cache.purge(site: site)
    }

    /// Purges each URL, then fetches it from the origin and stores it, so the edge is warm before the news goes
    /// out. URLs without a host are stored under the site's first host name.
    public static func publish(runtime: ProxyRuntime, group: any EventLoopGroup, site: String, urls: [String]) async throws -> [Outcome] {
        let snapshot = runtime.snapshots.snapshot
        guard let route = snapshot.router.route(named: site) else { throw Problem.unknownSite(site) }
        let parsed = try urls.map { url -> (String, String?, String) in
            guard let p = parse(url) else { throw Problem.badURL(url) }
            return (url, p.host, p.target)
        }
        let defaultHost = route.site.configuration.hosts.first { !$0.hasPrefix("*.") } ?? ""
        var outcomes: [Outcome] = []
        for (url, host, target) in parsed {
            _ = await runtime.cache.purge(site: site, targets: [target])
            let key = CacheKey(site: site, host: host ?? defaultHost, target: target)
            guard let fill = runtime.cache.store.beginRefresh(key) else {
                outcomes.append(Outcome(url: url, result: "busy", detail: "a fetch of it is already running"))
                continue
            }
            let loop = group.next()
            let pool = runtime.pools.pool(for: loop)
            let cache = runtime.cache
            let result = try await loop.submit {
                BackgroundRefresh.run(
                    fill: fill, stale: nil, route: route, requestHeaders: HTTPHeaders(), pool: pool, cache: cache,
                    snapshot: snapshot)
            }.flatMap { $0 }.get()
            switch result {
            case .stored(let object):
                outcomes.append(Outcome(url: url, result: "stored", detail: "\(object.status), \(object.body.readableBytes) bytes"))
            case .uncacheable:
                outcomes.append(Outcome(url: url, result: "uncacheable", detail: "the origin's response may not be stored (see its Cache-Control) and no cache rule overrides it"))
            case .failed(let failure):
                outcomes.append(Outcome(url: url, result: "failed", detail: "\(failure)"))
            case .abandoned:
                outcomes.append(Outcome(url: url, result: "failed", detail: "abandoned"))
            }
        }
        return outcomes
    }
}
