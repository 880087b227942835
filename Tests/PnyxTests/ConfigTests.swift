import Testing
@testable import PnyxConfig
import PnyxCore

@Suite("Configuration")
struct ConfigTests {
    @Test("the minimal file from the README works as written, with safe defaults")
    func minimalFile() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen:
                  http: 127.0.0.1:8080
                sites:
                  - name: county
                    hosts: [vote.example.gov]
                    origins: [http://127.0.0.1:9000]
                """, file: "pnyx.yaml")
        #expect(config.httpListeners == [ListenAddress(host: "127.0.0.1", port: 8080)])
        #expect(config.sites.count == 1)
        let site = config.sites[0]
        #expect(site.name == SiteName("county"))
        #expect(site.hosts == ["vote.example.gov"])
        #expect(site.origins == [OriginAddress(host: "127.0.0.1", port: 9000)])
        #expect(site.limits.maxBodyBytes == 10 * 1024 * 1024)
        #expect(site.limits.maxCookies == 200)
        #expect(site.securityHeaders)
        #expect(config.admin.listen == ListenAddress(host: "127.0.0.1", port: 9901))
        #expect(config.limits.headerReadTimeout == .seconds(10))
        #expect(config.accessLog.destination == .standardOutput)
    }

    @Test("unknown keys are errors naming file, line, column and key, with a suggestion")
    func unknownKey() {
        let yaml = """
            listen:
              http: 127.0.0.1:8080
            sites:
              - name: county
                hosts: [vote.example.gov]
                orgins: [http://127.0.0.1:9000]
            """
        let errors = collect(yaml)
        let unknown = errors.first { $0.key == "sites[0].orgins" }
        #expect(unknown != nil)
        #expect(unknown?.file == "pnyx.yaml")
        #expect(unknown?.line == 6)
        #expect(unknown?.column == 5)
        #expect(unknown?.message.contains("did you mean 'origins'") == true)
        #expect(unknown?.description.hasPrefix("pnyx.yaml:6:5: sites[0].orgins:") == true)
        // The missing origins is reported too: every error, not only the first.
        #expect(errors.contains { $0.key == "sites[0].origins" && $0.message.contains("missing") })
    }

    @Test("every error in a file is reported, each at its own line")
    func allErrors() {
        let yaml = """
            listen:
              http: 127.0.0.1:99999
            trusted_proxies: [10.0.0.0/33, 192.168.0.0/16]
            limits:
              max_body_bytes: lots
              idle_timeout: 5 minutes
            sites:
              - name: County One
                hosts: [vote.example.gov, "http://bad"]
                origins: [ftp://127.0.0.1:9000, https://origin:443]
              - name: other
                hosts: [vote.example.gov]
                origins: [http://127.0.0.1:9001]
            """
        let errors = collect(yaml)
        let byKey = Dictionary(grouping: errors, by: \.key)
        #expect(byKey["listen.http[0]"]?.first?.line == 2)
        #expect(byKey["trusted_proxies[0]"]?.first?.line == 3)
        #expect(byKey["limits.max_body_bytes"]?.first?.line == 5)
        #expect(byKey["limits.idle_timeout"]?.first?.line == 6)
        #expect(byKey["sites[0].name"]?.first?.line == 8)
        #expect(byKey["sites[0].hosts[1]"]?.first?.line == 9)
        #expect(byKey["sites[0].origins[0]"]?.first?.line == 10)
        #expect(byKey["sites[0].origins[1]"]?.first?.message.contains("not supported") == true)
        #expect(byKey["sites[1].hosts"]?.first?.message.contains("already served") == true)
        #expect(errors.count >= 9)
    }

    @Test("YAML syntax errors carry the parser's line")
    func syntaxError() {
        let errors = collect("listen:\n  http: [127.0.0.1:8080\nsites: []\n")
        #expect(errors.count == 1)
        #expect(errors.first?.line ?? 0 >= 2)
        #expect(errors.first?.message.hasPrefix("YAML:") == true)
    }

    @Test("wrong types, durations and sizes are explained")
    func types() {
        let errors = collect(
            """
            listen: { http: 127.0.0.1:8080 }
            events: { queue_capacity: -1 }
            sites:
              - name: a
                hosts: vote.a.gov
                origins: http://127.0.0.1:1
                security_headers: maybe
                limits: { max_body_bytes: 2GiB, upstream_response_timeout: 0s, max_cookies: 0 }
            """)
        #expect(errors.contains { $0.key == "events.queue_capacity" })
        #expect(errors.contains { $0.key == "sites[0].limits.max_cookies" })
        #expect(errors.contains { $0.key == "sites[0].security_headers" && $0.message.contains("true or false") })
        #expect(errors.contains { $0.key == "sites[0].limits.upstream_response_timeout" })
        #expect(!errors.contains { $0.key == "sites[0].limits.max_body_bytes" })
    }

    @Test("slow-client rates and HTTP/2 abuse limits decode, with errors for bad values")
    func slowClientAndHTTP2() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen: { http: 127.0.0.1:8080 }
                limits:
                  min_body_rate: 2KiB/s
                  min_send_rate: 0
                  slow_rate_grace: 5s
                  http2: { max_concurrent_streams: 50, max_stream_resets: 100, stream_reset_window: 10s, max_glitches: 20 }
                sites: [{ name: a, hosts: [a.test], origins: [http://127.0.0.1:1] }]
                """, file: "pnyx.yaml")
        #expect(config.limits.minBodyRate == 2048)
        #expect(config.limits.minSendRate == 0)
        #expect(config.limits.slowRateGrace == .seconds(5))
        #expect(config.limits.http2.maxConcurrentStreams == 50)
        #expect(config.limits.http2.maxStreamResets == 100)
        #expect(config.limits.http2.streamResetWindow == .seconds(10))
        #expect(config.limits.http2.maxGlitches == 20)
        #expect(config.limits.http2.maxContinuationFrames == 5)
        let defaults = try ConfigLoader.parse(
            yaml: "listen: { http: 127.0.0.1:8080 }\nsites: [{ name: a, hosts: [a.test], origins: [http://127.0.0.1:1] }]\n", file: "pnyx.yaml")
        #expect(defaults.limits.minBodyRate == 1024 && defaults.limits.minSendRate == 1024)
        let errors = collect(
            """
            listen: { http: 127.0.0.1:8080 }
            limits:
              min_body_rate: fast
              http2: { max_concurrent_streams: 0, max_streams: 5 }
            sites: []
            """)
        #expect(errors.contains { $0.key == "limits.min_body_rate" && $0.line == 3 && $0.message.contains("1KiB/s") })
        #expect(errors.contains { $0.key == "limits.http2.max_concurrent_streams" && $0.line == 4 })
        #expect(errors.contains { $0.key == "limits.http2.max_streams" })
    }

    @Test("a rate-limit rule's count: all (default) or origin")
    func rateLimitCount() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen: { http: 127.0.0.1:8080 }
                sites:
                  - name: a
                    hosts: [a.test]
                    origins: [http://127.0.0.1:1]
                    rate_limits:
                      - { name: origin-only, requests: 10, period: 1s, count: origin }
                      - { name: every, requests: 10, period: 1s }
                """, file: "pnyx.yaml")
        #expect(config.sites[0].rateLimits.map(\.countOriginOnly) == [true, false])
        let errors = collect(
            "listen: { http: 127.0.0.1:8080 }\nsites: [{ name: a, hosts: [a.test], origins: [http://127.0.0.1:1], rate_limits: [{ requests: 1, period: 1s, count: some }] }]\n")
        #expect(errors.contains { $0.key == "sites[0].rate_limits[0].count" && $0.line == 2 })
    }

    @Test("critical_paths and escalation decode; off disables; bad values name their key")
    func escalation() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen: { http: 127.0.0.1:8080 }
                sites:
                  - name: a
                    hosts: [a.test]
                    origins: [http://127.0.0.1:1]
                    critical_paths: [/register, /api/polling-place]
                    escalation: { rate_factor: 4, min_rate: 100, blocked_share: 0.3, origin_latency: 2s, relax_after: 5m }
                  - name: b
                    hosts: [b.test]
                    origins: [http://127.0.0.1:1]
                    escalation: off
                """, file: "pnyx.yaml")
        let a = config.sites[0]
        #expect(a.criticalPaths == ["/register", "/api/polling-place"])
        #expect(a.isCritical("/register/step2") && !a.isCritical("/news"))
        #expect(a.escalation.rateFactor == 4 && a.escalation.minRate == 100 && a.escalation.blockedShare == 0.3)
        #expect(a.escalation.originLatency == .seconds(2) && a.escalation.relaxAfter == .seconds(300))
        #expect(a.escalation.raiseAfter == .seconds(5))
        #expect(config.sites[1].escalation.enabled == false)
        let errors = collect(
            """
            listen: { http: 127.0.0.1:8080 }
            sites:
              - name: a
                hosts: [a.test]
                origins: [http://127.0.0.1:1]
                critical_paths: [register]
                escalation: { rate_factor: 1, speed: 2 }
            """)
        #expect(errors.contains { $0.key == "sites[0].critical_paths[0]" && $0.line == 6 })
        #expect(errors.contains { $0.key == "sites[0].escalation.rate_factor" && $0.line == 7 })
        #expect(errors.contains { $0.key == "sites[0].escalation.speed" })
    }

    @Test("bans: a map, off, or errors naming the key")
    func bans() throws {
        let site = "sites: [{ name: a, hosts: [a.test], origins: [http://127.0.0.1:1] }]"
        let on = try ConfigLoader.parse(
            yaml: "listen: { http: 127.0.0.1:8080 }\nbans: { after: 10, within: 30s, duration: 1h, statuses: [404, 401] }\n\(site)\n",
            file: "pnyx.yaml")
        #expect(on.bans == BanPolicy(after: 10, within: .seconds(30), duration: .seconds(3600), statuses: [404, 401]))
        let off = try ConfigLoader.parse(yaml: "listen: { http: 127.0.0.1:8080 }\nbans: off\n\(site)\n", file: "pnyx.yaml")
        #expect(off.bans.enabled == false)
        let defaults = try ConfigLoader.parse(yaml: "listen: { http: 127.0.0.1:8080 }\n\(site)\n", file: "pnyx.yaml")
        #expect(defaults.bans == BanPolicy())
        let errors = collect("listen: { http: 127.0.0.1:8080 }\nbans: { after: 0, statuses: [200], for: 1m }\n\(site)\n")
        #expect(errors.contains { $0.key == "bans.after" && $0.line == 2 })
        #expect(errors.contains { $0.key == "bans.statuses" })
        #expect(errors.contains { $0.key == "bans.for" })
    }

    @Test("integrity: signed paths, modes and ignore rules decode; a new site signs and pins nothing; errors name the key and line")
    func integrity() throws {
        let head = "listen: { http: 127.0.0.1:8080 }\nsites:\n  - name: a\n    hosts: [a.test]\n    origins: [http://127.0.0.1:1]\n"
        let config = try ConfigLoader.parse(
            yaml: head + """
                    integrity:
                      signed_paths: [/results/**]
                      mode: protect
                      monitor: [/news/**]
                      ignore: [{ selector: "span.clock" }, { between: ["<!-- a -->", "<!-- b -->"] }, { builtin: timestamps }]
                      max_body: 1MiB

                """, file: "pnyx.yaml")
        let policy = config.sites[0].integrity
        #expect(policy.isSigned("/results/summary.json") && !policy.isSigned("/register"))
        #expect(policy.mode(for: "/") == .protect && policy.mode(for: "/news/today") == .monitor)
        #expect(policy.ignore == [.selector("span.clock"), .between("<!-- a -->", "<!-- b -->"), .timestamps])
        #expect(policy.maxBodyBytes == 1 << 20)
        let plain = try ConfigLoader.parse(yaml: head, file: "pnyx.yaml").sites[0].integrity
        #expect(plain == IntegrityPolicy() && plain.signedPaths.isEmpty && plain.mode == .monitor)
        let errors = collect(
            head + "    integrity: { mode: block, signed_paths: [results], ignore: [{ selector: \"a b\" }, { builtin: clocks }, {}], colour: red }\n")
        #expect(errors.contains { $0.key == "sites[0].integrity.mode" && $0.line == 6 })
        #expect(errors.contains { $0.key == "sites[0].integrity.signed_paths[0]" })
        #expect(errors.contains { $0.key == "sites[0].integrity.ignore[0].selector" })
        #expect(errors.contains { $0.key == "sites[0].integrity.ignore[1].builtin" })
        #expect(errors.contains { $0.key == "sites[0].integrity.ignore[2]" })
        #expect(errors.contains { $0.key == "sites[0].integrity.colour" })
    }

    @Test("a full file with every section decodes into typed values")
    func fullFile() throws {
        let config = try ConfigLoader.parse(
            yaml: """
                listen:
                  http: [0.0.0.0:80, "[::]:80"]
                admin: { listen: off }
                data_dir: /var/lib/pnyx
                trusted_proxies: [10.0.0.0/8, 2001:db8::/32]
                default_site: state
                limits:
                  max_header_bytes: 16KiB
                  max_body_bytes: 1MiB
                  header_read_timeout: 5s
                  idle_timeout: 2m
                  upstream_connect_timeout: 500ms
                access_log: { path: off }
                events: { queue_capacity: 500 }
                sites:
                  - name: state
                    hosts: [results.state.gov, "*.results.state.gov"]
                    aliases: [www.results.state.gov]
                    origins: [http://10.1.2.3:8080, "http://[2001:db8::5]:80"]
                    hsts: off
                    limits: { max_body_bytes: 50MiB, upstream_response_timeout: 2m }
                """, file: "full.yaml")
        #expect(config.httpListeners == [ListenAddress(host: "0.0.0.0", port: 80), ListenAddress(host: "::", port: 80)])
        #expect(config.admin.listen == nil)
        #expect(config.trustedProxies.count == 2)
        #expect(config.defaultSite == SiteName("state"))
        #expect(config.limits.maxHeaderBytes == 16384)
        #expect(config.limits.idleTimeout == .seconds(120))
        #expect(config.accessLog.destination == .off)
        #expect(config.events.queueCapacity == 500)
        let site = config.sites[0]
        #expect(site.hosts == ["results.state.gov", "*.results.state.gov", "www.results.state.gov"])
        #expect(site.origins[1] == OriginAddress(host: "2001:db8::5", port: 80))
        #expect(site.hstsMaxAge == nil)
        #expect(site.limits.maxBodyBytes == 50 * 1024 * 1024)
        #expect(site.limits.upstreamConnectTimeout == .milliseconds(500))
        #expect(site.limits.upstreamResponseTimeout == .seconds(120))
    }

    @Test("an HTTPS listener needs a site with a certificate, and certificate files must exist")
    func tlsChecks() {
        let errors = collect(
            """
            listen: { https: 127.0.0.1:8443 }
            sites:
              - name: a
                hosts: [a.test]
                origins: [http://127.0.0.1:1]
                tls: { certificate: /nonexistent/cert.pem, key: /nonexistent/key.pem }
            """)
        #expect(errors.contains { $0.key == "sites[0].tls.certificate" && $0.line == 6 })
        #expect(errors.contains { $0.key == "sites[0].tls.key" })
    }

    private func collect(_ yaml: String) -> [ConfigError] {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "pnyx.yaml")
            return []
        } catch {
            return error.errors
        }
    }
}
