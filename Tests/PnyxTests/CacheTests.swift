import Foundation
import Testing

/// The cache on the data path, over real sockets: a real `pnyx serve` in front of a steerable origin.
@Suite("Cache over real sockets")
struct CacheTests {
    static func config(
        _ origin: CacheOrigin, site: String = "", top: String = "", responseTimeout: String = "10s", adminPort: Int = 0
    ) -> String {
        siteConfig(
            originPort: origin.port,
            extraTop: "limits: { max_connections_per_ip: 5000, upstream_response_timeout: \(responseTimeout) }\n" + top,
            extraSite: "rate_limits: []\n" + site, adminPort: adminPort)
    }

    @Test("MISS then HIT with Age; HEAD, conditional 304 and ranges are answered from the stored copy")
    func hitAndClientConditionals() async throws {
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let first = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a")
        #expect(first.status == 200)
        #expect(first.header("pnyx-cache") == "MISS")
        let second = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a")
        #expect(second.header("pnyx-cache") == "HIT")
        #expect(second.body == "a v1\n")
        #expect(second.header("age") != nil)
        #expect(second.header("etag") == "\"v1\"")
        #expect(origin.count("/r/a") == 1)

        let head = RawHTTP.Response(
            raw: try await RawHTTP.exchange(port: pnyx.httpPort, "HEAD /r/a HTTP/1.1\r\nHost: vote.test\r\nConnection: close\r\n\r\n"))
        #expect(head.status == 200)
        #expect(head.header("pnyx-cache") == "HIT")
        #expect(head.header("content-length") == "5")
        #expect(head.body.isEmpty)

        let notModified = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a", headers: [("If-None-Match", "\"v1\"")])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        let changed = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a", headers: [("If-None-Match", "\"v0\"")])
        #expect(changed.status == 200)

        let range = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a", headers: [("Range", "bytes=0-1")])
        #expect(range.status == 206)
        #expect(range.body == "a ")
        #expect(range.header("content-range") == "bytes 0-1/5")
        let unsatisfiable = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/a", headers: [("Range", "bytes=99-")])
        #expect(unsatisfiable.status == 416)
        #expect(origin.count("/r/a") == 1)
    }

    @Test("1,000 concurrent misses for one key make exactly one origin request")
    func coalescing() async throws {
        let origin = try await CacheOrigin.start()
        origin.set { $0.delayMilliseconds = 800 }
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    let r = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/election")
                    return (r.status, r.body)
                }
            }
            var all: [(Int, String)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(statuses.count == 1000)
        #expect(statuses.allSatisfy { $0.0 == 200 && $0.1 == "election v1\n" })
        #expect(origin.count("/r/election") == 1)
    }

    @Test("a stored copy stands in when the origin is down, times out, or answers 5xx")
    func serveStale() async throws {
        let origin = try await CacheOrigin.start()
        origin.set { $0.cacheControl = "max-age=1" }
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin, site: "cache: { grace: 1h, coalesce_wait: 5s }", responseTimeout: "2s"))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/five").header("pnyx-cache") == "MISS")
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/slow").header("pnyx-cache") == "MISS")
        try await Task.sleep(for: .milliseconds(2100))

        origin.set { $0.status = 503 }
        let fiveHundred = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/five")
        #expect(fiveHundred.status == 200)
        #expect(fiveHundred.header("pnyx-cache") == "STALE")
        #expect(fiveHundred.header("warning")?.hasPrefix("110") == true)
        #expect(fiveHundred.body == "five v1\n")

        origin.set {
            $0.status = 200
            $0.delayMilliseconds = 4000
        }
        let slow = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/slow")
        #expect(slow.status == 200)
        #expect(slow.header("pnyx-cache") == "STALE")

        await origin.stop()
        let down = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/five")
        #expect(down.status == 200)
        #expect(down.header("pnyx-cache") == "STALE")
        #expect(down.body == "five v1\n")
        // Nothing stored for this one: the error page.
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/never").status == 502)
    }

    @Test("an expired copy is revalidated with If-None-Match; a 304 serves it again")
    func revalidation() async throws {
        let origin = try await CacheOrigin.start()
        // Ages are whole seconds: max-age=3 is fresh for at least two seconds (room for a loaded machine between the
        // revalidation and the next request) and stale after three.
        origin.set { $0.cacheControl = "max-age=3" }
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/rv")
        try await Task.sleep(for: .milliseconds(3100))
        let again = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/rv")
        #expect(again.status == 200)
        #expect(again.header("pnyx-cache") == "REVALIDATED")
        #expect(again.body == "rv v1\n")
        #expect(origin.ifNoneMatch == ["\"v1\""])
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/rv").header("pnyx-cache") == "HIT")

        // Changed at the origin: the new version replaces the stored one.
        try await Task.sleep(for: .milliseconds(3100))
        origin.set { $0.version = 2 }
        let changed = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/rv")
        #expect(changed.header("pnyx-cache") == "EXPIRED")
        #expect(changed.body == "rv v2\n")
        #expect(origin.count("/r/rv") == 3)
    }

    @Test("cookies, Authorization, no-store and bypass rules are not shared; a ttl rule micro-caches no-cache pages")
    func storability() async throws {
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: Self.config(
                origin,
                site: """
                    cache:
                      rules:
                        - { path: /r/form, action: bypass }
                        - { path: /r/micro*, ttl: 30s }
                    """))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        for _ in 0..<2 { _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/c?cookie=1") }
        #expect(origin.count("/r/c") == 2)
        for _ in 0..<2 { _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/auth", headers: [("Authorization", "Basic eDp5")]) }
        #expect(origin.count("/r/auth") == 2)
        for _ in 0..<2 {
            #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/form").header("pnyx-cache") == "BYPASS")
        }
        #expect(origin.count("/r/form") == 2)

        origin.set { $0.cacheControl = "no-store" }
        for _ in 0..<2 { _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/ns") }
        #expect(origin.count("/r/ns") == 2)

        origin.set { $0.cacheControl = "private, no-cache" }
        _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/micro")
        let micro = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/micro")
        #expect(micro.header("pnyx-cache") == "HIT")
        // The browser still gets the origin's own Cache-Control.
        #expect(micro.header("cache-control") == "private, no-cache")
        #expect(origin.count("/r/micro") == 1)
    }

    @Test("Vary keeps one variant per Accept-Language")
    func vary() async throws {
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        for language in ["en", "es", "en", "es"] {
            let r = try await RawHTTP.get(port: pnyx.httpPort, path: "/vary", headers: [("Accept-Language", language)])
            #expect(r.body == "language \(language)\n")
        }
        #expect(origin.count("/vary") == 2)
    }

    @Test("pnyx cache purge and publish through the admin API")
    func purgeAndPublish() async throws {
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin, adminPort: try unusedPort()))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        for path in ["/r/p1", "/r/p2", "/r/p3"] { _ = try await RawHTTP.get(port: pnyx.httpPort, path: path) }
        let purge = try await run(PnyxProcess.binary.path, ["cache", "purge", "--config", pnyx.configPath, "--site", "county", "/r/p1"])
        #expect(purge.status == 0, "\(purge.error)")
        #expect(purge.output.contains("\"purged\":1"))
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/p1").header("pnyx-cache") == "MISS")
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/p2").header("pnyx-cache") == "HIT")
        let prefix = try await run(PnyxProcess.binary.path, ["cache", "purge", "--config", pnyx.configPath, "--site", "county", "--prefix", "/r/"])
        #expect(prefix.output.contains("\"purged\":3"))
        #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/p2").header("pnyx-cache") == "MISS")

        // New results at the origin: publish fetches them before anyone asks.
        origin.set { $0.version = 7 }
        let before = origin.count("/r/p3")
        let publish = try await run(PnyxProcess.binary.path, ["cache", "publish", "--config", pnyx.configPath, "--site", "county", "/r/p3"])
        #expect(publish.status == 0, "\(publish.output) \(publish.error)")
        #expect(publish.output.contains("stored"))
        #expect(origin.count("/r/p3") == before + 1)
        let warm = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/p3")
        #expect(warm.header("pnyx-cache") == "HIT")
        #expect(warm.body == "p3 v7\n")

        let unknown = try await run(PnyxProcess.binary.path, ["cache", "purge", "--config", pnyx.configPath, "--site", "nope", "--all"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("no site is named"))
    }

    @Test("the memory tier stays within its byte bound")
    func byteBound() async throws {
        let origin = try await CacheOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: Self.config(origin, top: "cache: { memory: 1MiB, max_object: 200KiB }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        for n in 0..<40 { _ = try await RawHTTP.get(port: pnyx.httpPort, path: "/big?bytes=100000&n=\(n)") }
        let bytes = try #require(await metric(pnyx, "pnyx_cache_bytes{tier=\"memory\"}"))
        #expect(bytes > 0)
        #expect(bytes <= 1 << 20)
        #expect((await metric(pnyx, "pnyx_cache_evictions_total{tier=\"memory\"}") ?? 0) > 0)
        #expect((await metric(pnyx, "pnyx_cache_requests_total{site=\"county\",status=\"MISS\"}") ?? 0) == 40)
    }

    @Test("health checks mark an origin down: requests go to the healthy one, then a stale copy, then static pages")
    func healthChecksAndStaticFallback() async throws {
        let good = try await CacheOrigin.start()
        let bad = try await CacheOrigin.start()
        bad.set { $0.status = 503 }
        let dir = try PnyxProcess.makeDirectory()
        let pages = dir.appendingPathComponent("static")
        try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: pages.appendingPathComponent("r"), withIntermediateDirectories: true)
        try "Results are being updated.\n".write(to: pages.appendingPathComponent("r/new.html"), atomically: true, encoding: .utf8)
        let yaml = """
            listen:
              http: 127.0.0.1:0
            admin:
              listen: 127.0.0.1:0
            data_dir: DATA_DIR
            sites:
              - name: county
                hosts: [vote.test]
                origins: [http://127.0.0.1:\(good.port), http://127.0.0.1:\(bad.port)]
                rate_limits: []
                # A generous timeout: on a loaded 2-core machine a healthy origin must not be marked down by a slow check.
                health_check: { path: /healthz, interval: 200ms, timeout: 2s, fails: 2, passes: 1 }
                static_fallback: \(pages.path)
            """
        let pnyx = try await PnyxProcess.start(yaml: yaml, directory: dir)
        defer { Task { await pnyx.stop(); await good.stop(); await bad.stop() } }

        #expect(await eventually { await metric(pnyx, "pnyx_origin_up{site=\"county\",origin=\"http://127.0.0.1:\(bad.port)\"}") == 0 })
        for n in 0..<6 {
            #expect(try await RawHTTP.get(port: pnyx.httpPort, path: "/r/h\(n)").status == 200)
        }
        #expect(bad.count("/r/h0") + bad.count("/r/h1") + bad.count("/r/h2") == 0)

        await good.stop()
        #expect(await eventually { await metric(pnyx, "pnyx_origin_up{site=\"county\",origin=\"http://127.0.0.1:\(good.port)\"}") == 0 })
        let stored = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/h0")
        #expect(stored.header("pnyx-cache") == "HIT")
        let emergency = try await RawHTTP.get(port: pnyx.httpPort, path: "/r/new")
        #expect(emergency.status == 200)
        #expect(emergency.header("pnyx-cache") == "STATIC")
        #expect(emergency.body == "Results are being updated.\n")
    }

    @Test("the disk tier survives a restart: fresh copies are served, stale ones stand in for a dead origin; purge reaches it")
    func diskSurvivesRestart() async throws {
        let origin = try await CacheOrigin.start()
        let dir = try PnyxProcess.makeDirectory()
        let yaml = Self.config(origin, adminPort: try unusedPort())
        let first = try await PnyxProcess.start(yaml: yaml, directory: dir)
        #expect(try await RawHTTP.get(port: first.httpPort, path: "/r/keep").header("pnyx-cache") == "MISS")
        origin.set { $0.cacheControl = "max-age=2" }
        #expect(try await RawHTTP.get(port: first.httpPort, path: "/r/short").header("pnyx-cache") == "MISS")
        #expect(try await RawHTTP.get(port: first.httpPort, path: "/r/gone").header("pnyx-cache") == "MISS")
        let purge = try await run(PnyxProcess.binary.path, ["cache", "purge", "--config", first.configPath, "--site", "county", "/r/gone"])
        #expect(purge.output.contains("\"purged\":1"))
        #expect(await first.stop() == 0)

        let second = try await PnyxProcess.start(yaml: yaml, directory: dir)
        defer { Task { await second.stop(); await origin.stop() } }
        #expect(await metric(second, "pnyx_cache_objects{tier=\"disk\"}") == 2)
        let kept = try await RawHTTP.get(port: second.httpPort, path: "/r/keep")
        #expect(kept.header("pnyx-cache") == "HIT")
        #expect(kept.body == "keep v1\n")
        #expect(origin.count("/r/keep") == 1)

        try await Task.sleep(for: .milliseconds(2100))  // /r/short is stale now
        await origin.stop()
        let short = try await RawHTTP.get(port: second.httpPort, path: "/r/short")
        #expect(short.status == 200)
        #expect(short.header("pnyx-cache") == "STALE")
        #expect(short.body == "short v1\n")
        #expect(try await RawHTTP.get(port: second.httpPort, path: "/r/gone").status == 502)
        #expect((await metric(second, "pnyx_cache_disk_operations_total{op=\"read\"}") ?? 0) == 2)
    }
}
