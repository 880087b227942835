import NIOCore
import NIOSSL
import PnyxConfig
import PnyxCore

/// Why a configuration could not be turned into a running snapshot (beyond what the config file check finds):
/// unreadable certificates, origins that do not resolve.
public struct SnapshotBuildError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
    public init(problems: [String]) { self.problems = problems }
}

/// Builds a ``ProxySnapshot`` from a validated configuration. Does file and DNS work, so it runs off the event
/// loops (at start-up and in the reload task).
public struct SnapshotBuilder: Sendable {
    /// Makes the filter chain for a configuration, given its sites. Protections are added here.
    /// It may throw (e.g. a country database that cannot be opened): the configuration is then refused.
    public typealias ChainFactory = @Sendable (PnyxConfiguration, [Site]) throws -> FilterChain

    public let events: any EventSink
    public let makeChain: ChainFactory
    /// Origin health states, shared with the health checker and kept across reloads.
    public let health: OriginHealthRegistry

    public init(events: any EventSink, health: OriginHealthRegistry = OriginHealthRegistry(), makeChain: @escaping ChainFactory) {
        self.events = events
        self.health = health
        self.makeChain = makeChain
    }

    public func build(_ configuration: PnyxConfiguration, generation: Int) throws -> ProxySnapshot {
        try build(configuration, generation: generation, replicas: 1)[0]
    }

    /// Builds `replicas` independent snapshots of one configuration (one per event loop; see ``SnapshotStore``):
    /// names are resolved and certificates read once, sites, routes and filters are made once per replica.
    public func build(_ configuration: PnyxConfiguration, generation: Int, replicas: Int) throws -> [ProxySnapshot] {
        var problems: [String] = []
        var resolved: [[ResolvedOrigin]] = []
        for siteConfig in configuration.sites {
            var origins: [ResolvedOrigin] = []
            for origin in siteConfig.origins {
                do {
                    origins.append(try ResolvedOrigin.resolve(origin))
                } catch {
                    problems.append("site '\(siteConfig.name)': origin \(origin) does not resolve: \(error)")
                }
            }
            resolved.append(origins)
        }
        var staticPages: [StaticPages?] = []
        for siteConfig in configuration.sites {
            guard let directory = siteConfig.staticFallback else {
                staticPages.append(nil)
                continue
            }
            do {
                staticPages.append(try StaticPages.load(directory: directory))
            } catch {
                problems.append("site '\(siteConfig.name)': static_fallback: \(error)")
                staticPages.append(nil)
            }
        }
        var tls: NIOSSLContext?
        if !configuration.httpsListeners.isEmpty {
            do {
                tls = try Self.makeTLSContext(configuration.sites)
            } catch let error as SnapshotBuildError {
                problems += error.problems
            } catch {
                problems.append("TLS: \(error)")
            }
        }
        if !problems.isEmpty { throw SnapshotBuildError(problems: problems) }
        return try (0..<max(1, replicas)).map { _ in
            var routes: [SiteRoute] = []
            var sites: [Site] = []
            for (index, (siteConfig, origins)) in zip(configuration.sites, resolved).enumerated() {
                let site = Site(configuration: siteConfig, index: index)
                sites.append(site)
                let health = siteConfig.healthCheck == nil
                    ? [] : origins.map { self.health.state(site: siteConfig.name.rawValue, origin: $0.address) }
                routes.append(SiteRoute(site: site, origins: origins, health: health, staticPages: staticPages[index]))
            }
            return ProxySnapshot(
                configuration: configuration, generation: generation,
                router: HostRouter(sites: routes, defaultSite: configuration.defaultSite),
                chain: try makeChain(configuration, sites), tls: tls, events: ReplicaEventSink(events))
        }
    }

    /// One TLS context for every HTTPS site: the certificate is picked per handshake from the SNI host name.
    /// Clients without SNI get the first TLS site's certificate.
    static func makeTLSContext(_ sites: [SiteConfiguration]) throws -> NIOSSLContext {
        var byHost: [String: ([NIOSSLCertificateSource], NIOSSLPrivateKeySource)] = [:]
        var wildcards: [(String, ([NIOSSLCertificateSource], NIOSSLPrivateKeySource))] = []
        var first: ([NIOSSLCertificateSource], NIOSSLPrivateKeySource)?
        var problems: [String] = []
        for site in sites {
            guard let files = site.tls else { continue }
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
                guard !chain.isEmpty else {
                    problems.append("site '\(site.name)': no certificate in \(files.certificatePath)")
                    continue
                }
                let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: files.keyPath, format: .pem))
                let pair = (chain, key)
                if first == nil { first = pair }
                for host in site.hosts {
                    if host.hasPrefix("*.") { wildcards.append((String(host.dropFirst(1)), pair)) } else { byHost[host] = pair }
                }
            } catch {
                problems.append(
                    "site '\(site.name)': cannot load certificate \(files.certificatePath) / key \(files.keyPath): \(error)")
            }
        }
        if !problems.isEmpty { throw SnapshotBuildError(problems: problems) }
        guard let first else { throw SnapshotBuildError(problems: ["no site has a usable certificate"]) }
        var tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: first.0, privateKey: first.1)
        tlsConfiguration.applicationProtocols = ["h2", "http/1.1"]
        tlsConfiguration.minimumTLSVersion = .tlsv12
        let exact = byHost
        let wild = wildcards.sorted { $0.0.count > $1.0.count }
        tlsConfiguration.sslContextCallback = { values, promise in
            var result = NIOSSLContextConfigurationOverride()
            if let name = values.serverHostname?.lowercased() {
                let pair = exact[name] ?? wild.first(where: { name.hasSuffix($0.0) })?.1
                if let pair {
                    result.certificateChain = pair.0
                    result.privateKey = pair.1
                }
            }
            promise.succeed(result)
        }
        return try NIOSSLContext(configuration: tlsConfiguration)
    }
}
