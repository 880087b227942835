import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PnyxCache
import PnyxCore
import PnyxServer
import Testing

@Suite("Cache disk tier (files, no sockets)")
struct DiskTierTests {
    static func object(_ target: String, body: String, language: String? = nil, maxAge: Int? = 60) -> CachedObject {
        var cc = CacheControl()
        cc.maxAge = maxAge
        cc.staleIfError = 300
        cc.mustRevalidate = true
        let headers: [(String, String)] = [("content-type", "text/plain"), ("etag", "\"e1\""), ("vary", "accept-language")]
        let vary = VaryKey(varyNames: language == nil ? [] : ["accept-language"], requestValues: { _ in language.map { [$0] } ?? [] })
        return CachedObject(
            key: CacheKey(site: "county", host: "Vote.Test", target: target), vary: vary, status: 200,
            headers: HeaderBlock(HTTPHeaders(headers)), body: ByteBuffer(string: body),
            facts: StoredResponseFacts(
                status: 200, cacheControl: cc, date: 1_700_000_000, lastModified: 1_690_000_000, age: 3,
                requestTime: 1_700_000_001, responseTime: 1_700_000_002),
            grace: 3600)
    }

    @Test("a record round-trips every field; damaged bytes decode to nothing")
    func recordRoundTrip() throws {
        let original = Self.object("/results?county=7", body: "results v1\n", language: "es")
        let record = StoredRecord.encode(original)
        let decoded = try #require(StoredRecord.decode(record))
        #expect(decoded.key == original.key)
        #expect(decoded.vary == original.vary)
        #expect(decoded.status == 200)
        #expect(decoded.headers.description == original.headers.description)
        #expect(decoded.body == original.body)
        #expect(decoded.facts == original.facts)
        #expect(decoded.grace == 3600)
        #expect(decoded.etag == "\"e1\"")

        var truncated = record
        truncated.moveWriterIndex(to: record.writerIndex - 1)
        #expect(StoredRecord.decode(truncated) == nil)
        var foreign = record
        foreign.setBytes(Array("NOTACACHE!".utf8), at: 0)
        #expect(StoredRecord.decode(foreign) == nil)
        #expect(StoredRecord.decode(ByteBuffer(string: "PNYXCACHE1\n")) == nil)
    }

    @Test("written files are found by a new instance (a restart); purge removes them; the byte bound holds")
    func survivesRestartAndBound() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-disk-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let logger = Logger(label: "test")

        let first = DiskTier(directory: directory, capacity: 1 << 20, logger: logger)
        first.start()
        first.write(Self.object("/a", body: "a v1\n"))
        first.write(Self.object("/v", body: "hola\n", language: "es"))
        first.write(Self.object("/v", body: "hello\n", language: "en"))
        first.write(Self.object("/a", body: "a v2\n"))  // replaces the first /a
        await first.shutdown()
        // A half-written file of a crashed run is removed at start-up.
        try FileManager.default.createDirectory(atPath: directory + "/00", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: directory + "/00/junk.pnx.tmp", contents: Data("x".utf8)))

        let second = DiskTier(directory: directory, capacity: 1 << 20, logger: logger)
        second.start()
        await second.waitUntilIndexed(timeout: .seconds(10))
        #expect(second.objects == 3)
        #expect(!FileManager.default.fileExists(atPath: directory + "/00/junk.pnx.tmp"))
        let a = try await second.read(CacheKey(site: "county", host: "vote.test", target: "/a"), requestValue: { _ in [] }, eventLoop: loop).get()
        #expect(a.map { String(buffer: $0.body) } == "a v2\n")
        let es = try await second.read(
            CacheKey(site: "county", host: "vote.test", target: "/v"), requestValue: { $0 == "accept-language" ? ["es"] : [] },
            eventLoop: loop
        ).get()
        #expect(es.map { String(buffer: $0.body) } == "hola\n")
        let fr = try await second.read(
            CacheKey(site: "county", host: "vote.test", target: "/v"), requestValue: { $0 == "accept-language" ? ["fr"] : [] },
            eventLoop: loop
        ).get()
        #expect(fr == nil)

        let purged = await second.purge { $0.target == "/v" }
        #expect(purged == [CacheKey(site: "county", host: "vote.test", target: "/v")])
        #expect(second.objects == 1)
        #expect(!second.mayHave(CacheKey(site: "county", host: "vote.test", target: "/v")))

        // 40 objects of 40 KiB into a 1 MiB tier: the oldest go, the newest stay.
        for n in 0..<40 { second.write(Self.object("/big\(n)", body: String(repeating: "x", count: 40_000))) }
        await second.waitUntilIndexed(timeout: .seconds(10))  // after the queued writes
        #expect(second.bytes <= 1 << 20)
        #expect(second.counters.evictions.load(ordering: .relaxed) > 0)
        #expect(second.mayHave(CacheKey(site: "county", host: "vote.test", target: "/big39")))
        #expect(!second.mayHave(CacheKey(site: "county", host: "vote.test", target: "/big0")))
        await second.shutdown()
        let files = FileManager.default.enumerator(atPath: directory)?.allObjects.compactMap { $0 as? String }.filter { $0.hasSuffix(".pnx") }
        #expect(files?.count == second.objects)
    }
}
