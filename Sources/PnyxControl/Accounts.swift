import PnyxCore
import GRDB
import NIOPosix

/// A staff account as the API and dashboard show it (never the hash or the TOTP secret).
public struct StaffUser: Sendable, Codable, Equatable {
    public var name: String
    public var role: Role
    public var sites: [String]
    /// Whether the account has logged in with a TOTP code at least once (enrolment confirmed).
    public var enrolled: Bool
    public var disabled: Bool
    public var lockedUntilMillis: Int64
    public var createdMillis: Int64

    public var principal: Principal { Principal(name: name, role: role, sites: Set(sites), via: .session) }
}

/// What a new account's owner needs once: the TOTP secret for their authenticator app.
public struct Enrollment: Sendable, Equatable {
    public var user: String
    public var secret: String
    public var uri: String
}

public struct AccountError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Staff accounts: creation (with a TOTP secret), login (password and TOTP code, with lockout), listing and
/// disabling. Every change and every login is in the audit log.
public struct Accounts: Sendable {
    let database: ControlDatabase
    let audit: AuditLog
    let hasher: PasswordHasher
    /// Failures in a row that lock an account, and for how long.
    public var lockAfter = 5
    public var lockMillis: Int64 = 15 * 60 * 1000

    public init(database: ControlDatabase, hasher: PasswordHasher = .standard) {
        self.database = database
        self.audit = AuditLog(database: database)
        self.hasher = hasher
    }

    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { b in
                (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 45 || b == 95 || b == 64
            }
    }

    /// Creates an account. County administrators need at least one site. Returns the TOTP enrolment secret.
    public func create(
        name: String, role: Role, sites: [String], password: String, by actor: Actor
    ) async throws -> Enrollment {
        guard Self.validName(name) else {
            throw AccountError("a user name is 1–64 characters of a–z, 0–9, '.', '-', '_' or '@'")
        }
        if role == .countyAdmin && sites.isEmpty { throw AccountError("a county administrator needs at least one site (--site)") }
        if let problem = PasswordHasher.weakness(of: password, user: name) { throw AccountError(problem) }
        let hash = try await Self.offload { try hasher.hash(password) }
        let secret = TOTP.newSecret()
        let storedSites = role == .stateAdmin ? [] : sites.sorted()
        let now = wallMillis()
        try await audit.change { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) == true {
                throw AccountError("a user named '\(name)' exists")
            }
            try db.execute(
                sql: "INSERT INTO users (name, role, sites, password_hash, totp_secret, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [name, role.rawValue, storedSites.joined(separator: ","), hash, Secrets.hex(secret), now])
            let entry = try AuditLog.append(
                db, actor, action: "user.create", target: "user:\(name)", before: "",
                after: "role=\(role.rawValue) sites=\(storedSites.joined(separator: ","))")
            return ((), [entry])
        }
        let totp = TOTP(secret: secret)
        return Enrollment(user: name, secret: Base32.encode(secret), uri: totp.provisioningURI(account: name))
    }

    public func count() async throws -> Int {
        try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    public func list() async throws -> [StaffUser] {
        try await database.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.user) }
    }

    public func user(named name: String) async throws -> StaffUser? {
        try await database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user)
        }
    }

    static func user(_ row: Row) -> StaffUser {
        let sites: String = row["sites"]
        return StaffUser(
            name: row["name"], role: Role(rawValue: row["role"]) ?? .viewer,
            sites: sites.split(separator: ",").map(String.init), enrolled: row["enrolled"], disabled: row["disabled"],
            lockedUntilMillis: row["locked_until_ms"], createdMillis: row["created_ms"])
    }

    /// Disables (or re-enables) an account; a disabled account's sessions end at once.
    public func setDisabled(_ name: String, _ disabled: Bool, by actor: Actor) async throws {
        try await audit.change { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT disabled FROM users WHERE name = ?", arguments: [name]) else {
                throw AccountError("no user named '\(name)'")
            }
            let was: Bool = row["disabled"]
            try db.execute(sql: "UPDATE users SET disabled = ? WHERE name = ?", arguments: [disabled, name])
            if disabled { try db.execute(sql: "DELETE FROM sessions WHERE user = ?", arguments: [name]) }
            let entry = try AuditLog.append(
                db, actor, action: disabled ? "user.disable" : "user.enable", target: "user:\(name)",
                before: "disabled=\(was)", after: "disabled=\(disabled)")
            return ((), [entry])
        }
    }

    public enum LoginResult: Sendable, Equatable {
        case success(StaffUser)
        /// Wrong name, password or code (never says which).
        case failure
        /// Too many failures: the account is locked until this time (ms).
        case locked(until: Int64)
    }

    /// Checks a password and a TOTP code. Five failures in a row lock the account for 15 minutes; a code works
    /// once. Slow on purpose (scrypt), and run off the event loops.
    public func login(name: String, password: String, code: String, client: String, now: Int64 = wallMillis()) async throws -> LoginResult {
        let actor = Actor(name: name, via: "login", client: client)
        let found: Credentials? = try await database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Credentials.init)
        }
        guard Self.validName(name), let found else {
            // Spend the same time as a real check, so timing does not tell which names exist.
            _ = try? await Self.offload { PasswordHasher.verify(password, against: Self.decoy) }
            return .failure
        }
        let user = found.user
        if user.lockedUntilMillis > now {
            try await audit.append(actor, action: "login.refused", target: "user:\(name)", after: "locked")
            return .locked(until: user.lockedUntilMillis)
        }
        let stored = found.passwordHash
        let passwordOK = try await Self.offload { PasswordHasher.verify(password, against: stored) }
        let step = TOTP(secret: Secrets.unhex(found.totpSecret) ?? []).match(code, at: now / 1000, after: found.totpLastStep)
        if passwordOK, let step, !user.disabled {
            try await audit.change { db in
                try db.execute(
                    sql: "UPDATE users SET failed_logins = 0, locked_until_ms = 0, totp_last_step = ?, enrolled = 1 WHERE name = ?",
                    arguments: [step, name])
                let entry = try AuditLog.append(db, actor, action: "login", target: "user:\(name)", before: "", after: "")
                return ((), [entry])
            }
            var user = user
            user.enrolled = true
            return .success(user)
        }
        let lockAfter = self.lockAfter
        let lockMillis = self.lockMillis
        let reason = user.disabled ? "disabled" : (!passwordOK ? "password" : "code")
        let lockedUntil: Int64 = try await audit.change { db in
            let failures = (try Int.fetchOne(db, sql: "SELECT failed_logins FROM users WHERE name = ?", arguments: [name]) ?? 0) + 1
            var until: Int64 = 0
            var entries: [AuditEntry] = []
            entries.append(try AuditLog.append(db, actor, action: "login.failed", target: "user:\(name)", before: "", after: reason))
            if failures >= lockAfter {
                until = now + lockMillis
                try db.execute(
                    sql: "UPDATE users SET failed_logins = 0, locked_until_ms = ? WHERE name = ?", arguments: [until, name])
                try db.execute(sql: "DELETE FROM sessions WHERE user = ?", arguments: [name])
                entries.append(
                    try AuditLog.append(db, actor, action: "user.locked", target: "user:\(name)", before: "", after: "after \(failures) failed logins"))
            } else {
                try db.execute(sql: "UPDATE users SET failed_logins = ? WHERE name = ?", arguments: [failures, name])
            }
            return (until, entries)
        }
        return lockedUntil > 0 ? .locked(until: lockedUntil) : .failure
    }

    struct Credentials: Sendable {
        var user: StaffUser
        var passwordHash: String
        var totpSecret: String
        var totpLastStep: Int64
        init(_ row: Row) {
            user = Accounts.user(row)
            passwordHash = row["password_hash"]
            totpSecret = row["totp_secret"]
            totpLastStep = row["totp_last_step"]
        }
    }

    /// A hash with the standard cost that matches nothing.
    static let decoy = "scrypt$32768$8$1$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000"

    /// Runs CPU-heavy work (scrypt) on NIO's thread pool, not on a cooperative or event-loop thread.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }
}
