import Logging
import PnyxControl
import PnyxFleet
import ServiceLifecycle

/// A fleet node's link to the shared database: creates or upgrades its tables (retrying until the database
/// answers), then reads the night-of settings every `poll` and, when another node changed them, rebuilds the
/// pipeline with them (the same atomic swap as a reload). The settings read are also kept in the data directory
/// for a restart while the database is down.
struct FleetService: Service {
    let database: FleetDatabase
    let settings: any SiteSettingsStore
    let coordinator: ReloadCoordinator
    let overrides: OverridesInEffect
    let cache: FleetSettingsCache
    let poll: Duration
    let logger: Logger

    struct State: Sendable {
        var migrated = false
        var reachable = true
        /// What the cache file holds.
        var cached: SiteOverrides
    }

    func run() async throws {
        var state = State(cached: overrides.current)
        await tick(&state)  // at once: the tables, and settings changed while this node was down
        await runPeriodically(every: poll, state: state) { state, _ in await self.tick(&state) }
    }

    func tick(_ state: inout State) async {
        do {
            if !state.migrated {
                try await database.migrate()
                state.migrated = true
                logger.info("fleet database ready", metadata: ["pnyx.node": "\(database.node)"])
            }
            let stored = try await settings.overrides()
            if !state.reachable {
                logger.notice("the fleet database answers again", metadata: ["pnyx.node": "\(database.node)"])
                state.reachable = true
            }
            if stored != overrides.current {
                let result = await coordinator.applySettings()
                logger.info(
                    "site settings changed in the fleet database", metadata: ["pnyx.generation": "\(result.generation)", "ok": "\(result.ok)"])
            }
            if stored != state.cached {
                cache.write(stored)
                state.cached = stored
            }
        } catch {
            if state.reachable {
                logger.error(
                    "cannot reach the fleet database: events are counted as dropped and settings stay as last read until it answers",
                    metadata: ["error": "\(error)", "pnyx.node": "\(database.node)"])
            }
            state.reachable = false
        }
    }
}
