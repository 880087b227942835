import Foundation
import Logging
import NIOCore
import NIOPosix
import PnyxConfig
import PnyxControl
import PnyxCore
import PnyxFleet
import PnyxStore

/// Where this node keeps what it records: alone, SQLite files in the data directory; in a fleet, the shared
/// PostgreSQL database for security events, request counts and night-of settings (accounts, sessions, tokens,
/// alerts and the audit log stay in the node's own control database).
struct NodeStores {
    let events: any EventStore
    let control: ControlPlane
    /// The shared database, when in a fleet.
    let fleet: FleetDatabase?
    /// The stored settings to start with.
    let overrides: SiteOverrides
    /// The shared database's connection pool at work (cancel it to close the pool).
    var fleetPool: Task<Void, Never>? = nil

    static func open(configuration: PnyxConfiguration, group: any EventLoopGroup, logger: Logger) async throws -> NodeStores {
        let dataDirectory = configuration.dataDirectory
        guard let fleetSettings = configuration.fleet else {
            let events: any EventStore
            do {
                events = try SQLiteEventStore(path: "\(dataDirectory)/pnyx.sqlite")
            } catch {
                logger.error(
                    "cannot open the event database; serving without recording events",
                    metadata: ["error": "\(error)", "pnyx.data_dir": "\(dataDirectory)"])
                events = UnavailableEventStore(reason: "\(error)")
            }
            let control = try ControlPlane.open(dataDirectory: dataDirectory)
            return NodeStores(events: events, control: control, fleet: nil, overrides: try await control.settings.overrides())
        }

        let node = fleetSettings.node ?? hostName()
        let fleet = try FleetDatabase(settings: fleetSettings, node: node, group: group, logger: logger)
        let database = try ControlDatabase(path: ControlDatabase.path(dataDirectory: dataDirectory))
        let settings = FleetSiteSettings(database: fleet, audit: AuditLog(database: database))
        let control = ControlPlane(database: database, settings: settings)
        let pool = Task { await fleet.run() }
        // Start with the fleet's settings as they are now; if the database does not answer, as last read here.
        var overrides: SiteOverrides
        let cache = FleetSettingsCache(dataDirectory: dataDirectory)
        do {
            try await fleet.migrate()
            overrides = try await settings.overrides()
            cache.write(overrides)
        } catch {
            overrides = SiteOverrides(values: cache.read() ?? [:])
            logger.error(
                "cannot reach the fleet database at start: serving with the site settings last read from it, and retrying",
                metadata: ["error": "\(error)", "pnyx.node": "\(node)"])
        }
        return NodeStores(events: PostgresEventStore(database: fleet), control: control, fleet: fleet, overrides: overrides, fleetPool: pool)
    }
}

extension NodeStores {
    /// For a command (`pnyx report`): the event store the node writes to, open while `body` runs. A fleet node
    /// reads the shared database, so a report covers every node.
    static func withEventStore<T>(
        configuration: PnyxConfiguration, logger: Logger, _ body: (any EventStore) async throws -> T
    ) async throws -> T {
        guard let settings = configuration.fleet else {
            return try await body(try SQLiteEventStore(path: "\(configuration.dataDirectory)/pnyx.sqlite"))
        }
        let fleet = try FleetDatabase(
            settings: settings, node: settings.node ?? hostName(), group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        return try await fleet.withPool { try await body(PostgresEventStore(database: $0)) }
    }
}

/// The fleet's settings as last read, in the data directory: a node that restarts while the shared database is
/// unreachable starts with them (under-attack mode stays on) instead of with the YAML alone.
struct FleetSettingsCache {
    let path: String

    init(dataDirectory: String) { self.path = "\(dataDirectory)/fleet-settings.json" }

    func read() -> [String: [String: String]]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode([String: [String: String]].self, from: data)
    }

    func write(_ overrides: SiteOverrides) {
        guard let data = try? JSONEncoder().encode(overrides.values) else { return }
        let temporary = path + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: data) {
            _ = rename(temporary, path)
        }
    }
}
