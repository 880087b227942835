import PnyxCore
import Yams

/// The top-level `fleet:` section.
extension ConfigSchema {
    static let fleetKeys = ["node", "postgres", "poll"]
    static let postgresKeys = ["host", "port", "database", "username", "password_file", "tls", "ca_file"]

    func fleet(_ map: ConfigMap) -> FleetSettings? {
        defer { map.finish(allowed: Self.fleetKeys) }
        var postgres: PostgresSettings?
        if let postgresMap = map.map("postgres") {
            postgres = self.postgres(postgresMap)
        } else if !map.has("postgres") {
            diagnostics.error("missing 'postgres': the fleet's shared database, e.g. { host: db.example.gov }", at: map.node, key: "\(map.path).postgres")
        }
        var fleet = FleetSettings(postgres: postgres ?? PostgresSettings(host: ""))
        if let node = map.string("node") {
            if node.isEmpty || node.count > 64 || node.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
                diagnostics.error("expected a short name without spaces, e.g. edge-east-1", at: map.value("node"), key: "\(map.path).node")
            } else {
                fleet.node = node
            }
        }
        if let poll = map.duration("poll") {
            if poll < .seconds(1) || poll > .seconds(300) {
                diagnostics.error("expected from 1s to 5m", at: map.value("poll"), key: "\(map.path).poll")
            } else {
                fleet.poll = poll
            }
        }
        return postgres == nil ? nil : fleet
    }

    private func postgres(_ map: ConfigMap) -> PostgresSettings? {
        defer { map.finish(allowed: Self.postgresKeys) }
        let path = map.path
        let host = map.string("host") ?? ""
        if host.isEmpty {
            diagnostics.error("missing 'host', the PostgreSQL server's name or address", at: map.node, key: "\(path).host")
        }
        var settings = PostgresSettings(host: host)
        if let port = map.int("port", range: 1...65535) { settings.port = port }
        if let database = map.string("database") { settings.database = database }
        if let username = map.string("username") { settings.username = username }
        if let file = map.string("password_file") {
            settings.password = secret(fromFile: file, node: map.value("password_file"), key: "\(path).password_file")
        }
        if let text = map.string("tls") {
            if let mode = PostgresSettings.TLSMode(rawValue: text) {
                settings.tls = mode
            } else {
                diagnostics.error("expected require or disable, got '\(text)'", at: map.value("tls"), key: "\(path).tls")
            }
        }
        if let file = map.string("ca_file") {
            let resolved = resolve(file)
            if ConfigLoader.readFile(resolved) == nil {
                diagnostics.error("cannot read '\(resolved)'", at: map.value("ca_file"), key: "\(path).ca_file")
            }
            settings.caFile = resolved
            if settings.tls == .disable {
                diagnostics.error("ca_file needs tls: require", at: map.value("ca_file"), key: "\(path).ca_file")
            }
        }
        return host.isEmpty ? nil : settings
    }
}
