import NIOCore
import NIOHTTP1
import PnyxCache
@testable import PnyxConfig
import PnyxCore
import Synchronization
import Testing

@Suite("Cache store, rules and conditionals (pure)")
struct CacheStoreTests {
    static func object(_ key: CacheKey, bytes: Int = 10, maxAge: Int = 60, now: Int64 = 1000) -> CachedObject {
        var cc = CacheControl()
        cc.maxAge = maxAge
        return CachedObject(
            key: key, vary: VaryKey(varyNames: [], requestValues: { _ in [] }), status: 200,
            headers: HeaderBlock(HTTPHeaders([("content-length", String(bytes))])),
            body: ByteBuffer(repeating: 0x61, count: bytes),
            facts: StoredResponseFacts(status: 200, cacheControl: cc, requestTime: now, responseTime: now), grace: 3600)
    }

    final class Delivered: Sendable {
        let results = Mutex<[String]>([])
    }

    @Test("the first miss leads, later ones wait and are all woken with the stored object")
    func coalescing() {
        let store = ResponseStore(capacity: 1 << 20, maxObjectBytes: 1 << 16)
        let key = CacheKey(site: "county", host: "vote.test", target: "/results")
        let delivered = Delivered()
        func waiter() -> CacheWaiter {
            CacheWaiter { result in
                if case .stored(let object) = result { delivered.results.withLock { $0.append(object.key.target) } }
            }
        }
        guard case .lead(let fill, nil) = store.lookup(key, requestValue: { _ in [] }, now: 1000, waiter: waiter) else {
            Issue.record("expected to lead")
            return
        }
        for _ in 0..<999 {
            guard case .wait = store.lookup(key, requestValue: { _ in [] }, now: 1000, waiter: waiter) else {
                Issue.record("expected to wait")
                return
            }
        }
        store.complete(fill, with: .stored(Self.object(key)), now: 1000)
        #expect(delivered.results.withLock { $0.count } == 999)
        guard case .found(_, nil) = store.lookup(key, requestValue: { _ in [] }, now: 1001, waiter: waiter) else {
            Issue.record("expected a hit")
            return
        }
        // Expired: the next request leads a revalidation with the stale copy.
        guard case .lead(_, let stale?) = store.lookup(key, requestValue: { _ in [] }, now: 1100, waiter: waiter) else {
            Issue.record("expected to lead with a stale copy")
            return
        }
        #expect(stale.key == key)
    }

    @Test("an uncacheable answer sends the key straight to the origin for a while")
    func hitForPass() {
        let store = ResponseStore(capacity: 1 << 20, maxObjectBytes: 1 << 16)
        let key = CacheKey(site: "county", host: "vote.test", target: "/form")
        guard case .lead(let fill, _) = store.lookup(key, requestValue: { _ in [] }, now: 1000, waiter: { CacheWaiter { _ in } }) else {
            Issue.record("expected to lead")
            return
        }
        store.complete(fill, with: .uncacheable, now: 1000)
        guard case .pass = store.lookup(key, requestValue: { _ in [] }, now: 1005, waiter: { CacheWaiter { _ in } }) else {
            Issue.record("expected a pass")
            return
        }
        guard case .lead = store.lookup(key, requestValue: { _ in [] }, now: 1000 + ResponseStore.passSeconds + 1, waiter: { CacheWaiter { _ in } }) else {
            Issue.record("expected to lead again after the pass period")
            return
        }
    }

    @Test("the store stays within its byte bound; evicted and purged objects are marked for the per-loop views")
    func byteBound() {
        let store = ResponseStore(capacity: 100_000, maxObjectBytes: 10_000)
        var objects: [CachedObject] = []
        for n in 0..<200 {
            let object = Self.object(CacheKey(site: "county", host: "vote.test", target: "/o\(n)"), bytes: 4000)
            objects.append(object)
            store.store(object)
            #expect(store.bytes <= 100_000)
        }
        #expect(store.evictions.load(ordering: .relaxed) > 0)
        #expect(objects[0].isDropped)
        #expect(!objects[199].isDropped)
        let front = CacheFront(capacity: 100_000)
        front.put(objects[199])
        #expect(front.get(objects[199].key, requestValue: { _ in [] }) != nil)
        #expect(store.purge { $0.target == "/o199" } == [objects[199].key])
        #expect(front.get(objects[199].key, requestValue: { _ in [] }) == nil)
    }

    @Test("path patterns: ** spans segments, * stays in one")
    func pathPatterns() throws {
        let results = try #require(PathPattern("/results/**"))
        #expect(results.matches("/results"))
        #expect(results.matches("/results/county/1.json"))
        #expect(!results.matches("/resultsx"))
        let scripts = try #require(PathPattern("/assets/*.js"))
        #expect(scripts.matches("/assets/app.js"))
        #expect(!scripts.matches("/assets/x/app.js"))
        let exact = try #require(PathPattern("/voter/register"))
        #expect(exact.matches("/voter/register"))
        #expect(!exact.matches("/voter/register/2"))
        #expect(PathPattern("results") == nil)
    }

    @Test("client conditionals and ranges against a stored copy")
    func conditionals() {
        #expect(ClientConditionals.notModified(ifNoneMatch: ["\"a\", W/\"v1\""], ifModifiedSince: nil, etag: "\"v1\"", lastModified: nil))
        #expect(!ClientConditionals.notModified(ifNoneMatch: ["\"v0\""], ifModifiedSince: nil, etag: "\"v1\"", lastModified: nil))
        #expect(ClientConditionals.notModified(
            ifNoneMatch: [], ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT", etag: nil, lastModified: "Sun, 06 Nov 1994 08:00:00 GMT"))
        #expect(ClientConditionals.range("bytes=0-9", ifRange: nil, length: 100, etag: nil, lastModified: nil) == .partial(lower: 0, upper: 9))
        #expect(ClientConditionals.range("bytes=-10", ifRange: nil, length: 100, etag: nil, lastModified: nil) == .partial(lower: 90, upper: 99))
        #expect(ClientConditionals.range("bytes=90-", ifRange: nil, length: 100, etag: nil, lastModified: nil) == .partial(lower: 90, upper: 99))
        #expect(ClientConditionals.range("bytes=100-", ifRange: nil, length: 100, etag: nil, lastModified: nil) == .unsatisfiable)
        #expect(ClientConditionals.range("bytes=0-1,5-6", ifRange: nil, length: 100, etag: nil, lastModified: nil) == .whole)
        #expect(ClientConditionals.range("bytes=0-9", ifRange: "\"old\"", length: 100, etag: "\"new\"", lastModified: nil) == .whole)
    }

    @Test("store plans: cookies and Authorization are not shared unless a rule says so; a ttl rule overrides the origin")
    func storePlans() throws {
        let policy = CachePolicy()
        func plan(_ headers: [(String, String)], rule: CacheRule? = nil, auth: Bool = false, policy: CachePolicy = CachePolicy())
            -> Result<StorePlan, RefusalReason>
        {
            StorePlan.decide(
                status: 200, headers: HeaderBlock(HTTPHeaders(headers)), requestHasAuthorization: auth, rule: rule,
                policy: policy, requestTime: 1000, responseTime: 1000, maxObjectBytes: 1 << 20)
        }
        if case .success = plan([("cache-control", "max-age=60"), ("set-cookie", "a=1")]) { Issue.record("stored a cookie") }
        if case .success = plan([("cache-control", "max-age=60")], auth: true) { Issue.record("shared an authorized answer") }
        if case .failure = plan([("cache-control", "public, max-age=60")], auth: true) { Issue.record("public must be shareable") }
        if case .success = plan([("cache-control", "no-store")]) { Issue.record("stored no-store") }
        if case .success = plan([("cache-control", "private")]) { Issue.record("stored private") }
        var micro = CacheRule(path: PathPattern("/results/**")!, ttl: .seconds(10))
        let overridden = try plan([("cache-control", "no-cache, private")], rule: micro).get()
        #expect(overridden.facts.freshnessLifetime == 10)
        #expect(overridden.facts.isFresh(now: 1005))
        if case .success = plan([("cache-control", "max-age=60"), ("set-cookie", "a=1")], rule: micro) { Issue.record("stored a cookie") }
        micro.stripCookies = true
        let stripped = try plan([("set-cookie", "a=1")], rule: micro).get()
        let headers = stripped.storedHeaders(HeaderBlock(HTTPHeaders([("set-cookie", "a=1"), ("x", "y")])), bodyLength: 3)
        #expect(!headers.contains(name: "set-cookie"))
        #expect(headers.first(name: "content-length") == "3")
        var withDefault = policy
        withDefault.defaultTTL = .seconds(30)
        #expect(try plan([], policy: withDefault).get().facts.freshnessLifetime == 30)
        #expect(try plan([], policy: policy).get().facts.freshnessLifetime == 0)
    }

    @Test("cache settings and site cache sections are decoded strictly, with line numbers")
    func configuration() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen: { http: 127.0.0.1:8080 }
                cache: { memory: 64MiB, max_object: 1MiB }
                sites:
                  - name: county
                    hosts: [vote.example.gov]
                    origins: [http://127.0.0.1:9000]
                    health_check: { path: /healthz, interval: 5s }
                    cache:
                      grace: 2h
                      rules:
                        - { path: /results/**, ttl: 10s, stale_while_revalidate: 10s }
                        - { path: /voter/register, action: bypass }
                """, file: "pnyx.yaml")
        #expect(config.cache.memoryBytes == 64 << 20)
        #expect(config.cache.diskBytes == 1 << 30)  // the default
        let site = config.sites[0]
        #expect(site.cache.grace == .seconds(7200))
        #expect(site.cache.rules.count == 2)
        #expect(site.cache.rule(for: "/results/a.json")?.ttl == .seconds(10))
        #expect(site.cache.rule(for: "/voter/register")?.action == .bypass)
        #expect(site.healthCheck?.path == "/healthz")

        do {
            _ = try ConfigLoader.parse(
                yaml: """
                    listen: { http: 127.0.0.1:8080 }
                    sites:
                      - name: county
                        hosts: [vote.example.gov]
                        origins: [http://127.0.0.1:9000]
                        cache:
                          rules:
                            - { path: results, ttl: 10s }
                            - { path: /x, action: bypass, ttl: 5s }
                            - { path: /y, tll: 5s }
                    """, file: "pnyx.yaml")
            Issue.record("accepted a bad cache section")
        } catch {
            let keys = error.errors.map(\.key)
            #expect(keys.contains("sites[0].cache.rules[0].path"))
            #expect(keys.contains("sites[0].cache.rules[1].ttl"))
            #expect(keys.contains("sites[0].cache.rules[2].tll"))
            #expect(error.errors.first { $0.key == "sites[0].cache.rules[0].path" }?.line == 8)
        }

        let minimal = "listen: { http: 127.0.0.1:8080 }\nsites: [{ name: c, hosts: [a.test], origins: [http://127.0.0.1:9000] }]\n"
        #expect(try ConfigLoader.parse(yaml: "cache: { disk: off }\n" + minimal, file: "pnyx.yaml").cache.diskBytes == nil)
        #expect(try ConfigLoader.parse(yaml: "cache: { disk: 20GiB }\n" + minimal, file: "pnyx.yaml").cache.diskBytes == 20 << 30)
        #expect(throws: (any Error).self) { try ConfigLoader.parse(yaml: "cache: { disk: lots }\n" + minimal, file: "pnyx.yaml") }
        #expect(throws: (any Error).self) {
            try ConfigLoader.parse(yaml: "cache: { max_object: 4MiB, disk: 2MiB }\n" + minimal, file: "pnyx.yaml")
        }
    }
}
