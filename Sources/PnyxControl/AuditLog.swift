import PnyxCore
import Crypto
import GRDB

/// One change, as the audit log keeps it.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var seq: Int64
    public var timeMillis: Int64
    public var actor: String
    public var via: String
    /// The client address the change came from (or `cli`).
    public var client: String
    public var action: String
    public var target: String
    public var before: String
    public var after: String
    public var prevHash: String
    public var hash: String

    /// The hash of this entry chained to the previous one: SHA-256 over the previous hash and every field.
    static func chainHash(
        prev: String, seq: Int64, time: Int64, actor: String, via: String, client: String, action: String, target: String,
        before: String, after: String
    ) -> String {
        var hasher = SHA256()
        for field in [prev, String(seq), String(time), actor, via, client, action, target, before, after] {
            hasher.update(data: Array(String(field.utf8.count).utf8))
            hasher.update(data: [0x3A])
            hasher.update(data: Array(field.utf8))
        }
        return Secrets.hex(hasher.finalize())
    }
}

/// Who made a change and from where.
public struct Actor: Sendable, Equatable {
    public var name: String
    public var via: String
    public var client: String
    public init(name: String, via: String, client: String) {
        self.name = name
        self.via = via
        self.client = client
    }
    public init(_ principal: Principal, client: String) {
        self.init(name: principal.name, via: principal.via.rawValue, client: client)
    }
}

/// The append-only, hash-chained record of every change. Each entry's hash covers the previous entry's hash, so
/// editing, removing or reordering an entry breaks the chain from there on; the newest (seq, hash) is also kept in
/// a file beside the database (`audit.head`), so cutting entries off the end shows too.
public struct AuditLog: Sendable {
    let database: ControlDatabase
    let headPath: String

    public init(database: ControlDatabase) {
        self.database = database
        self.headPath = database.path.hasSuffix(".sqlite") ? String(database.path.dropLast(7)) + ".audit-head" : database.path + ".audit-head"
    }

    public static let genesis = String(repeating: "0", count: 64)

    @discardableResult
    public func append(_ actor: Actor, action: String, target: String, before: String = "", after: String = "") async throws -> AuditEntry {
        try await change { db in
            let entry = try Self.append(db, actor, action: action, target: target, before: before, after: after)
            return (entry, [entry])
        }
    }

    /// Runs a change and its audit entries in one transaction, then records the newest entry in the head file
    /// (still inside the database's single writer, so heads are written in order).
    public func change<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> (T, [AuditEntry])) async throws -> T {
        try await database.pool.writeWithoutTransaction { db in
            var result: (T, [AuditEntry])?
            try db.inTransaction {
                result = try body(db)
                return .commit
            }
            if let newest = result?.1.last { self.writeHead(newest) }
            return result!.0
        }
    }

    /// Appends inside a write transaction the caller already holds (so a change and its record commit together).
    static func append(_ db: Database, _ actor: Actor, action: String, target: String, before: String, after: String) throws -> AuditEntry {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (last?["seq"] as Int64? ?? 0) + 1
        let prev: String = last?["hash"] ?? genesis
        let time = wallMillis()
        let hash = AuditEntry.chainHash(
            prev: prev, seq: seq, time: time, actor: actor.name, via: actor.via, client: actor.client, action: action,
            target: target, before: before, after: after)
        try db.execute(
            sql: """
                INSERT INTO audit_log (seq, time_ms, actor, via, client, action, target, before, after, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [seq, time, actor.name, actor.via, actor.client, action, target, before, after, prev, hash])
        return AuditEntry(
            seq: seq, timeMillis: time, actor: actor.name, via: actor.via, client: actor.client, action: action, target: target,
            before: before, after: after, prevHash: prev, hash: hash)
    }

    func writeHead(_ entry: AuditEntry) {
        let text = "\(entry.seq) \(entry.hash)\n"
        let temporary = headPath + ".tmp"
        guard let file = fopen(temporary, "w") else { return }
        _ = text.withCString { fputs($0, file) }
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        rename(temporary, headPath)
    }

    func readHead() -> (Int64, String)? {
        guard let file = fopen(headPath, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let parts = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 2, let seq = Int64(parts[0]) else { return nil }
        return (seq, parts[1])
    }

    /// Newest first, optionally only entries about one target prefix (`site:NAME`, `user:NAME`).
    public func entries(limit: Int, before seq: Int64? = nil, targetPrefix: String? = nil) async throws -> [AuditEntry] {
        try await database.pool.read { db in
            var sql = "SELECT * FROM audit_log WHERE 1=1"
            var arguments: StatementArguments = []
            if let seq {
                sql += " AND seq < ?"
                arguments += [seq]
            }
            if let targetPrefix {
                sql += " AND substr(target, 1, ?) = ?"
                arguments += [targetPrefix.count, targetPrefix]
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.entry)
        }
    }

    static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(
            seq: row["seq"], timeMillis: row["time_ms"], actor: row["actor"], via: row["via"], client: row["client"],
            action: row["action"], target: row["target"], before: row["before"], after: row["after"],
            prevHash: row["prev_hash"], hash: row["hash"])
    }

    public struct Verification: Sendable, Equatable {
        public var entries: Int
        /// Empty when the chain is intact.
        public var problems: [String]
        public var ok: Bool { problems.isEmpty }
    }

    /// Recomputes the chain from the first entry and compares the end with the head file.
    public func verify() async throws -> Verification {
        let rows = try await database.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY seq").map(Self.entry) }
        var problems: [String] = []
        var prev = Self.genesis
        var expectedSeq: Int64 = 1
        var last: AuditEntry?
        for e in rows {
            if e.seq != expectedSeq {
                problems.append("entry \(expectedSeq)\(e.seq > expectedSeq + 1 ? "–\(e.seq - 1)" : "") is missing")
            }
            if e.prevHash != prev {
                problems.append("entry \(e.seq) does not follow the entry before it (previous hash differs)")
            }
            let recomputed = AuditEntry.chainHash(
                prev: e.prevHash, seq: e.seq, time: e.timeMillis, actor: e.actor, via: e.via, client: e.client,
                action: e.action, target: e.target, before: e.before, after: e.after)
            if recomputed != e.hash { problems.append("entry \(e.seq) was altered (its content does not match its hash)") }
            prev = e.hash
            expectedSeq = e.seq + 1
            last = e
            if problems.count > 20 { break }
        }
        if let (headSeq, headHash) = readHead() {
            if let last {
                if headSeq > last.seq {
                    problems.append("entries \(last.seq + 1)–\(headSeq) were removed from the end")
                } else if headSeq == last.seq && headHash != last.hash {
                    problems.append("the newest entry (\(headSeq)) differs from the one recorded in \(headPath)")
                }
            } else if headSeq > 0 {
                problems.append("all \(headSeq) entries were removed")
            }
        }
        return Verification(entries: rows.count, problems: problems)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
