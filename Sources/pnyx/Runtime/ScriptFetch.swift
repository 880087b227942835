import AsyncHTTPClient
import NIOCore
import PnyxIntegrity
import PnyxServer
import Synchronization

/// Fetches scripts for the inventory: the site's own scripts from its origin (as pinning does), third-party ones
/// over HTTPS from where the page loads them (at most 1 MiB, 10 s). Nothing a browser reported is fetched: only
/// scripts found in pages the origin served.
final class ScriptFetch: Sendable {
    private let runtime = Mutex<ProxyRuntime?>(nil)
    private let group: any EventLoopGroup
    static let maxBytes = 1 << 20

    init(group: any EventLoopGroup) { self.group = group }

    /// The proxy runtime exists after the integrity state: set once it does.
    func attach(_ runtime: ProxyRuntime) { self.runtime.withLock { $0 = runtime } }

    var fetcher: ScriptFetcher {
        { [self] site, url in await fetch(site: site, url: url) }
    }

    func fetch(site: String, url: String) async -> [UInt8]? {
        guard let runtime = runtime.withLock({ $0 }), let host = ScriptExtractor.host(of: url) else { return nil }
        let hosts = runtime.snapshots.snapshot.configuration.sites.first { $0.name.rawValue == site }?.hosts ?? []
        if hosts.contains(host), let range = url.range(of: host) {
            var target = String(url[range.upperBound...])
            if target.hasPrefix(":") { target = String(target.drop { $0 != "/" }) }
            if target.isEmpty { target = "/" }
            let response = try? await SiteFetch.fetch(runtime: runtime, group: group, site: site, target: target, maxBody: Self.maxBytes)
            return response?.status == 200 ? response?.body : nil
        }
        guard url.lowercased().hasPrefix("https://") else { return nil }
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "user-agent", value: "pnyx-script-inventory")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            guard response.status == .ok else { return nil }
            let body = try await response.body.collect(upTo: Self.maxBytes)
            return Array(body.readableBytesView)
        } catch {
            return nil
        }
    }
}
