import PnyxCore
import Foundation
import GRDB
import Testing
import Yams
@testable import PnyxAdmin
@testable import PnyxControl

/// A cheap scrypt cost for tests (the product's default takes 32 MiB and tens of milliseconds per hash).
let testHasher = PasswordHasher(rounds: 1 << 10, blockSize: 8, parallelism: 1)

func temporaryControlPlane(sessions: (ControlDatabase) -> Sessions? = { _ in nil }) throws -> (ControlPlane, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-control-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let database = try ControlDatabase(path: ControlDatabase.path(dataDirectory: dir))
    return (ControlPlane(database: database, hasher: testHasher, sessions: sessions(database)), dir)
}

let cliActor = Actor(name: "tester", via: "cli", client: "cli")

@Suite("Control plane: identity and audit")
struct ControlPlaneTests {
    @Test("TOTP matches RFC 6238's SHA-1 test vectors, with one step of drift and no reuse")
    func totpVectors() {
        var totp = TOTP(secret: Array("12345678901234567890".utf8))
        totp.digits = 8
        let vectors: [(Int64, String)] = [
            (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ]
        for (time, code) in vectors { #expect(totp.code(at: time) == code, "T=\(time)") }
        let six = TOTP(secret: Array("12345678901234567890".utf8))
        #expect(six.code(at: 59) == "287082")
        #expect(six.match("287082", at: 59) == 1)
        #expect(six.match("287082", at: 59 + 30) == 1)  // one step late is accepted
        #expect(six.match("287082", at: 59 + 60) == nil)  // two is not
        #expect(six.match("287082", at: 59, after: 1) == nil)  // a used code works once
        #expect(six.match("287083", at: 59) == nil)
        #expect(six.provisioningURI(account: "ana@county").hasPrefix("otpauth://totp/Pnyx:ana%40county?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
    }

    @Test("base32 round-trips and refuses other characters")
    func base32() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.decode("mzxw6ytboi======") == Array("foobar".utf8))
        #expect(Base32.decode("MZXW1") == nil)
        for n in 0..<40 {
            let bytes = Secrets.bytes(n)
            #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        }
    }

    @Test("passwords are hashed with scrypt and a random salt; weak ones are refused")
    func passwords() throws {
        let a = try testHasher.hash("correct horse battery")
        let b = try testHasher.hash("correct horse battery")
        #expect(a.hasPrefix("scrypt$1024$8$1$"))
        #expect(a != b)
        #expect(PasswordHasher.verify("correct horse battery", against: a))
        #expect(!PasswordHasher.verify("correct horse batterY", against: a))
        #expect(!PasswordHasher.verify("x", against: "scrypt$3$8$1$00$00"))
        #expect(PasswordHasher.weakness(of: "short", user: "ana") != nil)
        #expect(PasswordHasher.weakness(of: "ana-is-the-admin-1", user: "ana") != nil)
        #expect(PasswordHasher.weakness(of: "aaaaaaaaaaaaaaaa", user: "ana") != nil)
        #expect(PasswordHasher.weakness(of: "polling place 2026!", user: "ana") == nil)
    }

    @Test("roles: a state admin does everything, a county admin operates only its sites, a viewer only reads")
    func roles() {
        let state = Principal(name: "s", role: .stateAdmin, sites: ["ignored"], via: .session)
        let county = Principal(name: "c", role: .countyAdmin, sites: ["adams"], via: .session)
        let viewer = Principal(name: "v", role: .viewer, sites: ["adams"], via: .session)
        let stateViewer = Principal(name: "w", role: .viewer, sites: [], via: .session)
        #expect(state.allows(.operate, site: "boone") && state.allows(.administer, site: nil))
        #expect(county.allows(.operate, site: "adams") && county.allows(.read, site: "adams"))
        #expect(!county.allows(.operate, site: "boone") && !county.allows(.read, site: "boone"))
        #expect(!county.allows(.administer, site: nil) && !county.allows(.operate, site: nil))
        #expect(viewer.allows(.read, site: "adams") && !viewer.allows(.read, site: "boone"))
        #expect(!viewer.allows(.operate, site: "adams"))
        #expect(stateViewer.allows(.read, site: "boone") && !stateViewer.allows(.operate, site: "boone"))
    }

    @Test("login needs the password and a fresh TOTP code; five failures lock the account")
    func loginAndLockout() async throws {
        let (control, _) = try temporaryControlPlane()
        let enrollment = try await control.accounts.create(
            name: "ana", role: .countyAdmin, sites: ["adams"], password: "polling place 2026!", by: cliActor)
        let totp = TOTP(secret: Base32.decode(enrollment.secret)!)
        let now = wallMillis()
        let code = totp.code(at: now / 1000)
        #expect(try await control.accounts.login(name: "ana", password: "polling place 2026!", code: "000000", client: "192.0.2.1", now: now) == .failure || code == "000000")
        guard case .success(let user) = try await control.accounts.login(name: "ana", password: "polling place 2026!", code: code, client: "192.0.2.1", now: now)
        else { Issue.record("login failed"); return }
        #expect(user.enrolled && user.role == .countyAdmin && user.sites == ["adams"])
        // The same code again is refused (replay).
        #expect(try await control.accounts.login(name: "ana", password: "polling place 2026!", code: code, client: "192.0.2.1", now: now) == .failure)
        #expect(try await control.accounts.login(name: "nobody", password: "polling place 2026!", code: code, client: "192.0.2.1", now: now) == .failure)
        // Wrong passwords: the fifth failure in a row locks, and then even the right code is refused.
        var last: Accounts.LoginResult = .failure
        for _ in 0..<4 {  // one failure (the replay) is already counted
            last = try await control.accounts.login(name: "ana", password: "wrong password!!", code: code, client: "192.0.2.1", now: now)
        }
        guard case .locked(let until) = last else { Issue.record("not locked: \(last)"); return }
        #expect(until >= now + 14 * 60 * 1000)
        let later = now + 31_000
        let fresh = totp.code(at: later / 1000)
        guard case .locked = try await control.accounts.login(name: "ana", password: "polling place 2026!", code: fresh, client: "192.0.2.1", now: later)
        else { Issue.record("a locked account logged in"); return }
        let actions = try await control.audit.entries(limit: 50).map(\.action)
        #expect(actions.contains("user.locked") && actions.contains("login") && actions.contains("user.create"))
    }

    @Test("sessions end after the idle limit and the absolute limit; tokens resolve until revoked")
    func sessionsAndTokens() async throws {
        let (control, _) = try temporaryControlPlane { Sessions(database: $0, idleMillis: 1000, absoluteMillis: 5000) }
        _ = try await control.accounts.create(name: "bo", role: .viewer, sites: [], password: "results night 2026", by: cliActor)
        let now = wallMillis()
        let (id, csrf) = try await control.sessions.start(user: "bo", client: "127.0.0.1", now: now)
        #expect(try await control.sessions.resolve(id, now: now + 500)?.csrf == csrf)
        #expect(try await control.sessions.resolve("not-a-session", now: now) == nil)
        #expect(try await control.sessions.resolve(id, now: now + 2500) == nil)  // idle > 1 s
        let (second, _) = try await control.sessions.start(user: "bo", client: "127.0.0.1", now: now)
        for step in stride(from: Int64(900), through: 4500, by: 900) {
            #expect(try await control.sessions.resolve(second, now: now + step) != nil)
        }
        #expect(try await control.sessions.resolve(second, now: now + 5400) == nil)  // absolute > 5 s
        // Disabling the account ends its sessions.
        let (third, _) = try await control.sessions.start(user: "bo", client: "127.0.0.1")
        try await control.accounts.setDisabled("bo", true, by: cliActor)
        #expect(try await control.sessions.resolve(third) == nil)

        let (token, info) = try await control.tokens.create(name: "purge script", role: .countyAdmin, sites: ["adams"], by: cliActor)
        let principal = try await control.tokens.resolve(token)
        #expect(principal?.role == .countyAdmin && principal?.sites == ["adams"] && principal?.via == .token)
        #expect(try await control.tokens.resolve(token + "x") == nil)
        #expect(try await control.tokens.resolve("pnyx_\(info.id)_guess") == nil)
        #expect(try await control.tokens.revoke(id: info.id, by: cliActor))
        #expect(try await control.tokens.resolve(token) == nil)
        let stored = try await control.database.pool.read { db in try String.fetchAll(db, sql: "SELECT hash FROM api_tokens") }
        #expect(!stored.contains(token) && stored.count == 1)
    }

    @Test("the audit log is append-only and its hash chain shows an edit, a removal and a cut end")
    func auditChain() async throws {
        let (control, _) = try temporaryControlPlane()
        for n in 0..<6 {
            try await control.settings.set(site: "adams", .underAttack, to: n % 2 == 0 ? "true" : "false", by: cliActor)
        }
        #expect(try await control.audit.verify() == AuditLog.Verification(entries: 6, problems: []))
        // SQLite refuses changes outright.
        await #expect(throws: (any Error).self) {
            try await control.database.pool.write { db in try db.execute(sql: "UPDATE audit_log SET actor = 'x' WHERE seq = 2") }
        }
        await #expect(throws: (any Error).self) {
            try await control.database.pool.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq = 6") }
        }
        // Someone going around the triggers: an edit breaks entry 3's hash.
        try await control.database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
            try db.execute(sql: "UPDATE audit_log SET after = 'under_attack=false' WHERE seq = 3")
        }
        let edited = try await control.audit.verify()
        #expect(edited.problems == ["entry 3 was altered (its content does not match its hash)"])
        try await control.database.pool.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq IN (3, 6)") }
        let cut = try await control.audit.verify()
        #expect(cut.problems.contains("entry 3 is missing"))
        #expect(cut.problems.contains("entries 6–6 were removed from the end"))
    }

    @Test("site settings persist with before and after in the audit log; invalid values are refused")
    func siteSettings() async throws {
        let (control, dir) = try temporaryControlPlane()
        #expect(try await control.settings.set(site: "adams", .underAttack, to: "true", by: cliActor))
        #expect(try await !control.settings.set(site: "adams", .underAttack, to: "true", by: cliActor))
        await #expect(throws: AccountError.self) { try await control.settings.set(site: "adams", .wafMode, to: "off", by: cliActor) }
        let reopened = try ControlPlane.open(dataDirectory: dir, hasher: testHasher)
        #expect(try await reopened.settings.overrides().value(site: "adams", .underAttack) == "true")
        let entry = try await reopened.audit.entries(limit: 1)[0]
        #expect(entry.action == "site.under_attack" && entry.before == "(config)" && entry.after == "under_attack=true")
        #expect(entry.actor == "tester" && entry.target == "site:adams")
    }
}

/// The OpenAPI document in the repository describes exactly the API routes of the table, with their permissions.
@Suite("Admin API description")
struct OpenAPIDocumentTests {
    @Test("docs/openapi.yaml has every /api/v1 route of AdminRoutes.all with its permission, and nothing else")
    func matchesRouteTable() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let document = try #require(try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var described = Set<String>()
        for (path, operations) in paths {
            for (method, operation) in operations where ["get", "post", "put", "delete", "patch"].contains(method) {
                let permission = (operation as? [String: Any])?["x-pnyx-permission"] as? String
                described.insert("\(method.uppercased()) \(path) \(permission ?? "?")")
            }
        }
        let routes = Set(
            AdminRoutes.all.filter { $0.kind == .api }.map { spec in
                let path = spec.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                return "\(spec.method.rawValue) /\(path) \(spec.permission.rawValue)"
            })
        #expect(routes.subtracting(described).isEmpty, "routes not described: \(routes.subtracting(described).sorted())")
        #expect(described.subtracting(routes).isEmpty, "described but not routes: \(described.subtracting(routes).sorted())")
        #expect(routes.count >= 28)
    }
}
