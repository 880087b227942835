import Logging
import PnyxAdmin
import PnyxConfig
import PnyxControl
import PnyxServer
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration: decode strictly, validate, build the whole new pipeline, then swap it in
/// atomically. Any failure leaves the running snapshot untouched and says why.
actor ReloadCoordinator {
    let configPath: String?
    let builder: SnapshotBuilder
    let snapshots: SnapshotStore
    let logger: Logger
    /// Settings changed from the dashboard or API, applied on top of the YAML at every build.
    let settings: (any SiteSettingsStore)?
    let overrides: OverridesInEffect
    /// The configuration as the file said it (before stored settings), from the last successful load.
    private var base: PnyxConfiguration

    init(
        configPath: String?, base: PnyxConfiguration, builder: SnapshotBuilder, snapshots: SnapshotStore, settings: (any SiteSettingsStore)?,
        overrides: OverridesInEffect, logger: Logger
    ) {
        self.configPath = configPath
        self.base = base
        self.builder = builder
        self.snapshots = snapshots
        self.settings = settings
        self.overrides = overrides
        self.logger = logger
    }

    /// Rebuilds from the last loaded file with the stored settings as they are now (after a dashboard change).
    func applySettings() async -> ReloadResult {
        await rebuild(base, reason: "site settings applied")
    }

    /// Builds `configuration` + stored settings and swaps it in.
    private func rebuild(_ configuration: PnyxConfiguration, reason: String, warnings: [String] = []) async -> ReloadResult {
        let current = snapshots.snapshot
        var stored = overrides.current
        if let settings {
            do {
                stored = try await settings.overrides()
            } catch {
                logger.error("cannot read stored site settings; keeping the ones in effect", metadata: ["error": "\(error)"])
            }
        }
        do {
            let replicas = try builder.build(
                stored.apply(to: configuration), generation: current.generation + 1, replicas: snapshots.replicaCount)
            snapshots.swap(replicas)
            base = configuration
            overrides.set(stored)
            let snapshot = replicas[0]
            logger.info(
                "\(reason)",
                metadata: ["pnyx.generation": "\(snapshot.generation)", "pnyx.sites": "\(configuration.sites.count)"])
            return ReloadResult(ok: true, generation: snapshot.generation, warnings: warnings)
        } catch {
            logger.error("reload refused; the running configuration stays", metadata: ["error": "\(error)"])
            return ReloadResult(ok: false, generation: current.generation, errors: ["\(error)"])
        }
    }

    func reload() async -> ReloadResult {
        let current = snapshots.snapshot
        guard let configPath else {
            return ReloadResult(ok: false, generation: current.generation, errors: ["this instance has no configuration file"])
        }
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath)
        } catch {
            let errors = error.errors.map(\.description)
            logger.error("reload refused; the running configuration stays", metadata: ["errors": "\(errors)"])
            return ReloadResult(ok: false, generation: current.generation, errors: errors)
        }
        let old = current.configuration
        var restartOnly: [String] = []
        if old.httpListeners != configuration.httpListeners || old.httpsListeners != configuration.httpsListeners {
            restartOnly.append("listen")
        }
        if old.admin != configuration.admin { restartOnly.append("admin") }
        if old.dataDirectory != configuration.dataDirectory { restartOnly.append("data_dir") }
        if !restartOnly.isEmpty {
            let message = "changing \(restartOnly.joined(separator: ", ")) needs a restart; reload refused"
            logger.error("\(message)")
            return ReloadResult(ok: false, generation: current.generation, errors: [message])
        }
        var warnings: [String] = []
        if old.accessLog != configuration.accessLog { warnings.append("access_log changes take effect after a restart") }
        if old.events != configuration.events { warnings.append("events changes take effect after a restart") }
        return await rebuild(configuration, reason: "configuration reloaded", warnings: warnings)
    }
}

/// Reloads on SIGHUP.
struct ReloadSignalService: Service {
    let coordinator: ReloadCoordinator
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading configuration")
            _ = await coordinator.reload()
        }
    }
}
