/// The control plane's stores over one database: accounts, sessions, tokens, settings and the audit log.
public struct ControlPlane: Sendable {
    public let database: ControlDatabase
    public let accounts: Accounts
    public let sessions: Sessions
    public let tokens: APITokens
    /// The night-of settings: in the control database, or (in a fleet) in the shared one.
    public let settings: any SiteSettingsStore
    public let audit: AuditLog
    public let alerts: AlertLog
    public let setup: SetupLinks

    public init(
        database: ControlDatabase, hasher: PasswordHasher = .standard, sessions: Sessions? = nil, settings: (any SiteSettingsStore)? = nil
    ) {
        self.database = database
        self.accounts = Accounts(database: database, hasher: hasher)
        self.sessions = sessions ?? Sessions(database: database)
        self.tokens = APITokens(database: database)
        self.settings = settings ?? SiteSettings(database: database)
        self.audit = AuditLog(database: database)
        self.alerts = AlertLog(database: database)
        self.setup = SetupLinks(database: database, accounts: accounts)
    }

    /// Opens `<data_dir>/control.sqlite`.
    /// `settings`: where the night-of settings live when not in this database (a fleet's shared database).
    public static func open(
        dataDirectory: String, hasher: PasswordHasher = .standard, settings: (any SiteSettingsStore)? = nil
    ) throws -> ControlPlane {
        ControlPlane(
            database: try ControlDatabase(path: ControlDatabase.path(dataDirectory: dataDirectory)), hasher: hasher, settings: settings)
    }
}
