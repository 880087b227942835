/// `fleet:`: edge nodes that share one PostgreSQL database for their security events, request counts and the
/// settings staff change on the night, so any node's dashboard and reports show the whole fleet and a change made
/// on one node applies on all of them.
public struct FleetSettings: Sendable, Equatable {
    /// This node's name in the shared database (and in alerts); nil: the host name.
    public var node: String?
    public var postgres: PostgresSettings
    /// How often a node reads the settings changed on other nodes.
    public var poll: Duration = .seconds(5)

    public init(node: String? = nil, postgres: PostgresSettings, poll: Duration = .seconds(5)) {
        self.node = node
        self.postgres = postgres
        self.poll = poll
    }
}

/// Where the fleet's PostgreSQL server is and how to log in to it.
public struct PostgresSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable, CaseIterable {
        /// TLS with the server's certificate verified (system roots, plus `ca_file`): the default.
        case require
        /// Plain TCP: only for a database on the same host or a private network.
        case disable
    }

    public var host: String
    public var port: Int = 5432
    public var database: String = "pnyx"
    public var username: String = "pnyx"
    public var password: String?
    public var tls: TLSMode = .require
    public var caFile: String?

    public init(host: String, port: Int = 5432, database: String = "pnyx", username: String = "pnyx", password: String? = nil, tls: TLSMode = .require) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.tls = tls
    }
}
