import PnyxCache
import Testing

@Suite("Cache: HTTP dates, Cache-Control and freshness (RFC 9111), pure")
struct CacheFreshnessTests {
    @Test("the three HTTP date forms parse to the same instant, and IMF-fixdate round-trips")
    func dates() {
        let instant: Int64 = 784_111_777
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == instant)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == instant)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == instant)
        #expect(HTTPDate.format(instant) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(1_794_787_200) == "Mon, 16 Nov 2026 00:00:00 GMT")
        #expect(HTTPDate.parse(HTTPDate.format(1_794_787_200)) == 1_794_787_200)
        for bad in ["0", "-1", "tomorrow", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", ""] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("Cache-Control directives: case, quotes, field-name forms, unknown ones, several field lines")
    func directives() {
        let cc = CacheControl([
            "Max-Age=60, s-maxage=\"120\", no-cache=\"Set-Cookie, Set-Cookie2\", foo=\"a,b\"",
            "stale-while-revalidate=30,stale-if-error=600 , must-revalidate, immutable",
        ])
        #expect(cc.maxAge == 60)
        #expect(cc.sMaxAge == 120)
        #expect(!cc.noCache)  // with field names it applies to those fields only
        #expect(cc.staleWhileRevalidate == 30 && cc.staleIfError == 600)
        #expect(cc.mustRevalidate && cc.immutable && !cc.noStore && !cc.isPrivate)
        #expect(CacheControl(["no-store"]).noStore)
        #expect(CacheControl(["private=\"x-user\""]).isPrivate)
        #expect(CacheControl(["no-cache"]).noCache)
        let invalid = CacheControl(["max-age=soon"])
        #expect(invalid.maxAge == nil && invalid.invalidMaxAge)
        #expect(CacheControl(["max-age=99999999999999"]).maxAge == 2_147_483_648)
        #expect(CacheControl(["max-stale"]).maxStale == Int.max)
    }

    static func facts(
        _ cc: [String], status: Int = 200, date: Int64? = 1000, expires: Int64? = nil, lastModified: Int64? = nil,
        age: Int64? = nil, requestTime: Int64 = 1000, responseTime: Int64 = 1000, expiresInvalid: Bool = false
    ) -> StoredResponseFacts {
        StoredResponseFacts(
            status: status, cacheControl: CacheControl(cc), date: date, expires: expires, expiresInvalid: expiresInvalid,
            lastModified: lastModified, age: age, requestTime: requestTime, responseTime: responseTime)
    }

    @Test("freshness lifetime: s-maxage, then max-age, then Expires − Date, then the Last-Modified heuristic")
    func lifetime() {
        #expect(Self.facts(["max-age=60, s-maxage=10"]).freshnessLifetime == 10)
        #expect(Self.facts(["max-age=60"], expires: 5000).freshnessLifetime == 60)
        #expect(Self.facts([], expires: 1300).freshnessLifetime == 300)
        #expect(Self.facts([], expires: 900).freshnessLifetime == 0)
        #expect(Self.facts([], expires: nil, expiresInvalid: true).freshnessLifetime == 0)
        // 10% of the 5000 s since Last-Modified, for a heuristically cacheable status only; at most a day.
        #expect(Self.facts([], lastModified: -4000).freshnessLifetime == 500)
        #expect(Self.facts([], status: 302, lastModified: -4000).freshnessLifetime == 0)
        #expect(Self.facts([], date: 10_000_000, lastModified: 0).freshnessLifetime == 86_400)
        #expect(Self.facts(["max-age=soon"], expires: 5000).freshnessLifetime == 0)
    }

    @Test("current age: Age header, clock skew and response delay (RFC 9111 §4.2.3)")
    func age() {
        // Sent at 1000, received at 1002; the origin's Date says 998 (its clock behind), Age: 30 from a cache.
        let facts = Self.facts(["max-age=60"], date: 998, age: 30, requestTime: 1000, responseTime: 1002)
        // corrected_initial_age = max(apparent 4, 30 + 2) = 32; resident 10 s later: 42.
        #expect(facts.currentAge(now: 1012) == 42)
        #expect(facts.isFresh(now: 1029))
        #expect(!facts.isFresh(now: 1030))
        // A Date in the future (origin clock ahead) gives no negative age.
        #expect(Self.facts([], date: 2000).currentAge(now: 1000) == 0)
    }

    @Test("use: fresh, stale-while-revalidate, stale-if-error and the site's grace; must-revalidate and no-cache forbid stale")
    func use() {
        let swr = Self.facts(["max-age=10, stale-while-revalidate=20, stale-if-error=300"])
        #expect(swr.use(now: 1005) == .fresh)
        #expect(swr.use(now: 1025) == .staleWhileRevalidate)
        #expect(swr.use(now: 1040) == .revalidate(staleIfErrorUntil: 1310))
        // The site's grace (election-night serve-stale) stands in when the origin gave none, or gave less.
        let plain = Self.facts(["max-age=10"])
        #expect(plain.use(now: 1100) == .revalidate(staleIfErrorUntil: nil))
        #expect(plain.use(now: 1100, grace: 3600) == .revalidate(staleIfErrorUntil: 4610))
        #expect(Self.facts(["max-age=10, must-revalidate"]).use(now: 1100, grace: 3600) == .revalidate(staleIfErrorUntil: nil))
        #expect(Self.facts(["no-cache"]).use(now: 1000, grace: 3600) == .revalidate(staleIfErrorUntil: nil))
    }

    @Test("storability for a shared cache: methods, no-store, private, cookies, Authorization, Vary: *, statuses")
    func storability() {
        func check(
            method: String = "GET", status: Int = 200, response: [String] = ["max-age=60"], request: [String] = [],
            authorization: Bool = false, cookie: Bool = false, explicit: Bool = true, varyStar: Bool = false,
            site: Bool = false
        ) -> Storability.Verdict {
            Storability.check(
                method: method, status: status, response: CacheControl(response), request: CacheControl(request),
                hasAuthorization: authorization, setsCookie: cookie, hasExplicitFreshness: explicit, varyStar: varyStar,
                siteAllows: site)
        }
        #expect(check() == .store)
        #expect(check(method: "HEAD") == .store)
        #expect(check(method: "POST") == .refuse("method POST"))
        #expect(check(response: ["no-store"]) == .refuse("no-store"))
        #expect(check(request: ["no-store"]) == .refuse("no-store"))
        #expect(check(response: ["private, max-age=60"]) == .refuse("private"))
        #expect(check(cookie: true) == .refuse("sets a cookie"))
        #expect(check(cookie: true, site: true) == .store)
        #expect(check(authorization: true) == .refuse("request carried Authorization"))
        #expect(check(response: ["public, max-age=60"], authorization: true) == .store)
        #expect(check(response: ["s-maxage=60"], authorization: true) == .store)
        #expect(check(varyStar: true) == .refuse("Vary: *"))
        #expect(check(status: 302, response: [], explicit: false) == .refuse("status 302 without explicit freshness"))
        #expect(check(status: 404, response: [], explicit: false) == .store)
        #expect(check(status: 206) == .refuse("partial content"))
    }
}

@Suite("Cache: keys and Vary, pure")
struct CacheKeyTests {
    @Test("primary keys: host case and port ignored, the target kept byte for byte unless the site ignores the query")
    func primary() {
        let a = CacheKey(site: "county", host: "Vote.Example.GOV:443", target: "/results?race=1&page=2")
        #expect(a == CacheKey(site: "county", host: "vote.example.gov", target: "/results?race=1&page=2"))
        #expect(a != CacheKey(site: "county", host: "vote.example.gov", target: "/results?page=2&race=1"))
        #expect(a != CacheKey(site: "state", host: "vote.example.gov", target: "/results?race=1&page=2"))
        #expect(CacheKey(site: "c", host: "h", target: "/style.css?v=3", ignoreQuery: true).target == "/style.css")
        #expect(CacheKey(site: "c", host: "[2001:db8::1]", target: "/").host == "[2001:db8::1]")
    }

    @Test("Vary: names normalized, variants by the request's values, Accept-Encoding by coding, Vary: * never matches")
    func vary() {
        #expect(VaryKey.names(["Accept-Encoding, accept-language", "Accept-Encoding"]) == ["accept-encoding", "accept-language"])
        #expect(VaryKey.names(["Accept, *"]) == ["*"])
        func key(_ fields: [String: [String]], vary: [String] = ["accept-encoding", "accept-language"]) -> VaryKey {
            VaryKey(varyNames: vary) { fields[$0] ?? [] }
        }
        let english = key(["accept-encoding": ["gzip, deflate, br"], "accept-language": ["en-US"]])
        #expect(english.matches(key(["accept-encoding": ["br,gzip"], "accept-language": [" en-US "]])))
        #expect(!english.matches(key(["accept-encoding": ["gzip"], "accept-language": ["en-US"]])))
        #expect(!english.matches(key(["accept-encoding": ["gzip, br"], "accept-language": ["es"]])))
        // A request without the field is its own variant.
        #expect(!english.matches(key(["accept-encoding": ["gzip, br"]])))
        #expect(key([:]).matches(key([:])))
        let star = key([:], vary: ["*"])
        #expect(star.matchesNothing && !star.matches(star))
    }
}

@Suite("Cache: the byte-bounded memory tier")
struct ByteBoundedLRUTests {
    @Test("evicts least recently used first, never exceeds its bytes, refuses what cannot fit, and purges by predicate")
    func lru() {
        var lru = ByteBoundedLRU<String, Int>(capacity: 100)
        #expect(lru.set("a", 1, cost: 40)?.isEmpty == true)
        #expect(lru.set("b", 2, cost: 40)?.isEmpty == true)
        #expect(lru.get("a") == 1)  // a is now the most recently used
        let evicted = lru.set("c", 3, cost: 40)
        #expect(evicted?.map(\.0) == ["b"])
        #expect(lru.bytes == 80 && lru.count == 2)
        #expect(lru.keysByRecency == ["c", "a"])
        // Updating an entry changes its cost in place.
        lru.set("a", 10, cost: 60)
        #expect(lru.bytes == 100 && lru.peek("a") == 10)
        // Too big for the whole tier: refused (and an older copy under that key is dropped).
        #expect(lru.set("a", 11, cost: 101) == nil)
        #expect(lru.peek("a") == nil && lru.bytes == 40)
        // Purge by prefix.
        lru.set("/results/1", 1, cost: 10)
        lru.set("/results/2", 2, cost: 10)
        #expect(lru.removeAll { $0.hasPrefix("/results/") }.count == 2)
        #expect(lru.keysByRecency == ["c"])
    }

    @Test("under churn of many keys the byte bound always holds and the recency list stays consistent")
    func churn() {
        var lru = ByteBoundedLRU<Int, Int>(capacity: 10_000)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<50_000 {
            let key = Int.random(in: 0..<2_000, using: &generator)
            if i % 7 == 0 {
                lru.remove(key)
            } else if i % 3 == 0 {
                _ = lru.get(key)
            } else {
                lru.set(key, i, cost: Int.random(in: 1...300, using: &generator))
            }
            #expect(lru.bytes <= 10_000)
        }
        #expect(lru.keysByRecency.count == lru.count)
        #expect(Set(lru.keysByRecency).count == lru.count)
    }
}
