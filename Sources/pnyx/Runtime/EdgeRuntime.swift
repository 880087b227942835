import Logging
import NIOCore
import NIOPosix
import PnyxAdmin
import PnyxAlerts
import PnyxChallenge
import PnyxConfig
import PnyxControl
import PnyxIntegrity
import PnyxCore
import PnyxServer
import PnyxStore
import PnyxWAF
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Assembles a running Pnyx: event store and queue, access log, proxy listeners, admin listener and reload
/// signal handling, as one ServiceGroup. SIGTERM/SIGINT shut it down in reverse order: the admin listener
/// stops, the proxy drains in-flight requests, then logs and events are flushed.
struct EdgeRuntime {
    let configPath: String?
    let configuration: PnyxConfiguration
    let logger: Logger
    /// Services that run before the proxy and stop after it (the demo origin).
    var servicesBeforeProxy: [any Service] = []
    /// Called once the proxy and admin listeners are bound.
    var onReady: (@Sendable (_ proxy: [SocketAddress], _ adminPort: Int?, _ setupLink: String?) async -> Void)?

    func run() async throws {
        let dataDirectory = configuration.dataDirectory
        try Filesystem.makeDirectory(dataDirectory)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.workers ?? System.coreCount)
        let stores: NodeStores
        do {
            stores = try await NodeStores.open(configuration: configuration, group: group, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            try await group.shutdownGracefully()
            throw error
        }
        // The fleet database's connection pool outlives the service group: the event queue flushes into it last.
        let fleetPool = stores.fleetPool
        let store = stores.events
        let control = stores.control
        let events = EventQueue(store: store, capacity: configuration.events.queueCapacity, logger: logger)

        let accessLog = try AccessLogSink.make(configuration.accessLog, group: group)
        let traffic = TrafficState()
        let cache = EdgeCache(
            settings: configuration.cache, group: group, diskDirectory: "\(dataDirectory)/cache", logger: logger)
        await cache.disk?.waitUntilIndexed(timeout: .seconds(10))
        let challenge = ChallengeState(
            keys: try ChallengeKeys.loadOrCreate(path: configuration.challengeKeyFile ?? "\(dataDirectory)/challenge.key"))
        let scriptFetch = ScriptFetch(group: group)
        let integrity = IntegrityState(
            directory: "\(dataDirectory)/integrity", events: events, fetcher: scriptFetch.fetcher, logger: logger)
        let waf = WAFRuleSets()
        let tally = RequestTally()
        let statusBoard = StatusBoard()
        let builder = SnapshotBuilder(events: events, health: cache.health) { configuration, sites in
            try PipelineFactory.makeChain(
                configuration: configuration, sites: sites, accessLog: accessLog, traffic: traffic, cache: cache,
                challenge: challenge, integrity: integrity, waf: waf, tally: tally, statusBoard: statusBoard)
        }
        let overrides = OverridesInEffect()
        let replicas: [ProxySnapshot]
        do {
            overrides.set(stores.overrides)
            // One snapshot per event loop (see SnapshotStore).
            replicas = try builder.build(
                overrides.current.apply(to: configuration), generation: 1, replicas: Array(group.makeIterator()).count)
        } catch {
            logger.critical("cannot start: \(error)")
            fleetPool?.cancel()
            try await group.shutdownGracefully()
            throw error
        }
        let snapshots = SnapshotStore(replicas, group: group)
        let runtime = ProxyRuntime(snapshots: snapshots, pools: UpstreamPools(group: group), cache: cache)
        scriptFetch.attach(runtime)
        let proxy = ProxyServer(runtime: runtime, group: group, logger: logger)
        let coordinator = ReloadCoordinator(
            configPath: configPath, base: configuration, builder: builder, snapshots: snapshots, settings: control.settings,
            overrides: overrides, logger: logger)
        let alerts = AlertService(
            settings: { [snapshots] in snapshots.snapshot.configuration.alerts }, group: group, logger: logger,
            record: { [control, logger] record in
                do {
                    try await control.alerts.add(record)
                } catch {
                    logger.warning("cannot record an alert", metadata: ["error": "\(error)"])
                }
            })
        events.observe { [alerts] batch in alerts.accept(events: batch) }
        let backend = EdgeBackend(
            coordinator: coordinator, events: events, store: store, snapshots: snapshots, accessLog: accessLog,
            connections: runtime.connections, slowClients: runtime.slowClients, traffic: traffic, proxy: runtime,
            group: group, challenge: challenge, integrity: integrity, overrides: overrides, tally: tally, alerts: alerts)

        var services: [any Service] = [
            alerts, events, BanSweeper(registry: traffic.bans, events: events),
            EscalationService(registry: traffic.sites, snapshots: snapshots, events: events, changes: traffic.escalations),
            ConnectionDefenseReporter(connections: runtime.connections, slowClients: runtime.slowClients, events: events),
            ChallengeReporter(stats: challenge.stats, events: events),
            TallyRecorder(tally: tally, store: store, logger: logger, alerts: alerts),
            HealthCheckService(checker: HealthChecker(runtime: runtime, group: group, events: events), logger: logger),
        ]
        if let fleet = stores.fleet, let settings = configuration.fleet {
            services.append(
                FleetService(
                    database: fleet, settings: control.settings, coordinator: coordinator, overrides: overrides,
                    cache: FleetSettingsCache(dataDirectory: dataDirectory), poll: settings.poll, logger: logger))
        }
        if let accessLog { services.append(accessLog) }
        services += servicesBeforeProxy
        services.append(proxy)
        let adminPort = AsyncBox<Int?>()
        let setupLink = AsyncBox<String?>()
        if let admin = configuration.admin.listen {
            let token = try AdminToken.loadOrCreate(dataDirectory: dataDirectory)
            services.append(
                AdminServer.makeApplication(
                    host: admin.host, port: admin.port, backend: backend, token: token, control: control, logger: logger,
                    onRunning: { [logger] port in
                        // While no staff account exists, a one-time link to create the first (logged, and shown by the demo).
                        var link: String?
                        if let token = try? await control.setup.issue() {
                            let host = admin.host == "0.0.0.0" ? "127.0.0.1" : (admin.host.contains(":") ? "[\(admin.host)]" : admin.host)
                            link = "http://\(host):\(port)/setup?token=\(token)"
                            logger.notice(
                                "no staff account exists yet: open \(link!) within 24 hours to create the first state administrator (one use), or run `pnyx admin create-user NAME --role state_admin --config FILE`")
                        }
                        setupLink.set(link)
                        adminPort.set(port)
                    }))
        } else {
            setupLink.set(nil)
            adminPort.set(nil)
        }
        services.append(ReloadSignalService(coordinator: coordinator, logger: logger))
        if let onReady {
            services.append(
                ReadinessService {
                    let addresses = await proxy.waitUntilBound()
                    let port = await adminPort.value()
                    await onReady(addresses, port, await setupLink.value())
                })
        }

        let serviceGroup = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await serviceGroup.run()
        } catch {
            logger.error("pnyx stopped with an error: \(error)")
            fleetPool?.cancel()
            await cache.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        await cache.stop()  // queued disk writes land first
        integrity.flush()
        fleetPool?.cancel()
        await fleetPool?.value
        try await group.shutdownGracefully()
        logger.info("pnyx stopped")
    }
}

/// Runs a one-off task after start-up, then waits for shutdown like every other service.
struct ReadinessService: Service {
    let task: @Sendable () async -> Void
    func run() async throws {
        await task()
        try? await gracefulShutdown()
    }
}

/// A value set once and awaited by others.
final class AsyncBox<Value: Sendable>: Sendable {
    private let state = NIOLockedValueBoxCompat<(Value?, Bool, [CheckedContinuation<Value, Never>])>((nil, false, []))

    func set(_ value: Value) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, Never>] in
            s.0 = value
            s.1 = true
            let w = s.2
            s.2 = []
            return w
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value?? = state.withLock { s in
                if s.1 { return .some(s.0) }
                s.2.append(continuation)
                return .none
            }
            if case .some(let value) = ready { continuation.resume(returning: value!) }
        }
    }
}

enum Filesystem {
    static func makeDirectory(_ path: String) throws {
        if let problem = Directories.create(path) {
            throw FilesystemError(message: "cannot create data directory \(path): \(problem)")
        }
    }
}

struct FilesystemError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
