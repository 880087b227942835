import ArgumentParser
import PnyxAdmin
import Logging
import PnyxConfig
import PnyxDemo

#if canImport(Glibc)
import Glibc
#endif

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a demo election site on loopback with Pnyx in front of it.",
        discussion: """
            Starts a built-in election origin (home page, voter registration, polling-place lookup, results) and Pnyx
            with its embedded defaults (SQLite under --data-dir, nothing external), then prints the URLs to open.
            The generated configuration is written to <data-dir>/demo.yaml, so `pnyx reload --config` works on it.
            """)

    @Option(help: "Port for Pnyx (the URL to open).")
    var port: Int = 8080

    @Option(help: "Port for the demo origin server (behind Pnyx).")
    var originPort: Int = 8081

    @Option(help: "Port for the admin listener (metrics, reload).")
    var adminPort: Int = 9901

    @Option(help: "Address to listen on. Keep loopback unless you mean to expose the demo.")
    var host: String = "127.0.0.1"

    @Option(help: "Data directory (SQLite event database, admin token, access log).")
    var dataDir: String = "./pnyx-demo-data"

    @Option(help: "Log level.")
    var logLevel: String = "info"

    @Flag(help: "Start the demo site in under-attack mode: browsers pass the bot challenge once, scripts do not.")
    var underAttack = false

    func run() async throws {
        let logger = Bootstrap.start(logLevel: logLevel)
        try Filesystem.makeDirectory(dataDir)
        let dataDirectory = dataDir.hasPrefix("/") ? dataDir : "\(Self.currentDirectory())/\(dataDir.hasPrefix("./") ? String(dataDir.dropFirst(2)) : dataDir)"
        let yaml = """
            # Written by `pnyx demo`. Edit and run `pnyx reload --config \(dataDirectory)/demo.yaml`.
            listen:
              http: \(host):\(port)
            admin:
              listen: 127.0.0.1:\(adminPort)
            data_dir: \(dataDirectory)
            access_log:
              path: \(dataDirectory)/access.log
            default_site: demo
            # Try it: 20 refused requests within a minute ban the address for 2 minutes (`pnyx bans list`).
            bans: { after: 20, within: 1m, duration: 2m }
            sites:
              - name: demo
                hosts: [localhost, vote.localhost, 127.0.0.1]
                origins: [http://127.0.0.1:\(originPort)]
                # Voters must always reach these: escalation never tightens them.
                critical_paths: [/register, /api/polling-place, /results]
                # Raises the site's posture on its own when it looks under attack (see the events).
                escalation: { min_rate: 50, raise_after: 5s, relax_after: 1m }
                # Results are cached for 10 s whatever the origin says, refreshed in the background, and served
                # stale (up to an hour) if the origin fails. Registration is never cached.
                cache:
                  rules:
                    - { path: /results/**, ttl: 10s, stale_while_revalidate: 10s }
                    - { path: /register, action: bypass }
                    - { path: /api/**, action: bypass }
                health_check: { path: /healthz, interval: 2s, timeout: 1s }
                # The public status page: /.pnyx/status (and /.well-known/pnyx/status as JSON).
                status_page: { results_path: /results, title: "Clearwater County Elections" }
                # Under attack, browsers solve a short proof-of-work once (a clearance cookie for an hour); the
                # critical paths above never see it. Escalation turns it on by itself for the other paths.
                challenge: { under_attack: \(underAttack) }
                # Results are signed (Content-Digest + an Ed25519 HTTP Message Signature, each version in a public
                # log): check with `pnyx verify`. Pinned pages (the demo pins / and /results at start) are protected:
                # if the origin's copy changes, the approved one is served and the new one waits for approval.
                integrity:
                  signed_paths: [/results/**]
                  mode: protect
                # The OWASP Core Rule Set (Debian's modsecurity-crs), paranoia level 1: try
                # curl -i "http://127.0.0.1:\(port)/?q=%27%20OR%201=1--" (403, with a reference to quote).
                waf: { mode: block, paranoia_level: 1 }
                # Shown when the origin is down and a page was never cached.
                static_fallback: \(dataDirectory)/static
                rate_limits:
                  # Try it: the sixth registration from one address within a minute gets 429.
                  - name: registration
                    match: { path: /register, methods: [POST] }
                    key: ip
                    requests: 5
                    period: 1m
                    timeout: 2m
                  - name: per-address
                    key: ip
                    requests: 6000
                    period: 1m
                    timeout: 1m

            """
        let configPath = "\(dataDirectory)/demo.yaml"
        try Filesystem.makeDirectory("\(dataDirectory)/static")
        try Self.write(Self.staticPage, to: "\(dataDirectory)/static/index.html")
        try Self.write(yaml, to: configPath)
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath)
        } catch {
            for problem in error.errors { printError(problem.description) }
            throw ExitCode(1)
        }
        let origin = DemoOrigin.makeApplication(port: originPort, logger: logger)
        var runtime = EdgeRuntime(configPath: configPath, configuration: configuration, logger: logger)
        runtime.servicesBeforeProxy = [origin]
        let host = self.host
        let originPort = self.originPort
        let underAttack = self.underAttack
        let tokenPath = AdminToken.path(dataDirectory: configuration.dataDirectory)
        runtime.onReady = { addresses, adminPort, setupLink in
            let port = addresses.first?.port ?? 0
            let base = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
            let pinned = await Self.pinDemoPages(adminPort: adminPort, tokenPath: tokenPath)
            Self.printOut(
                """

                Pnyx demo is running. Open these through Pnyx:
                  Home page:           \(base)/
                  Voter registration:  \(base)/register
                  Polling-place API:   \(base)/api/polling-place?address=100+Main+St
                  Results:             \(base)/results   (feed: \(base)/results/summary.json)
                Behind it, the demo origin: http://127.0.0.1:\(originPort)/
                Cache:       results say "Pnyx-Cache: HIT" (curl -sI \(base)/results/summary.json)
                Outage:      curl -X POST 'http://127.0.0.1:\(originPort)/demo/outage?on=1'  (results keep being served;
                             ?on=0 ends it)
                Integrity:   \(pinned ? "/, /results and /assets/site.js are pinned (protect mode)." : "pinning failed (see the log).") Deface the origin:
                               curl -X POST 'http://127.0.0.1:\(originPort)/demo/tamper?on=1'
                             then reload \(base)/results: Pnyx serves the approved page (Pnyx-Integrity: protected)
                             and raises an alert. See: pnyx integrity status --config \(configPath) --site demo
                Verify:      pnyx verify \(base)/results/summary.json   (signature, digest, public log)
                Scripts:     pnyx integrity scripts --config \(configPath) --site demo   (the inventory: a defaced page's
                             miner is flagged; `approve-scripts --all` then `scripts: enforce` blocks what is not approved)
                WAF:         OWASP CRS (paranoia level 1, native second opinion): an attack gets 403 with a reference,
                               curl -i "\(base)/lookup?q=%27%20OR%201=1--"
                             while the registration form with names such as O'Brien goes through.
                Challenge:   \(underAttack ? "under attack: the home page asks browsers for a proof of work once (curl gets the page, not the site)" : "off (start with --under-attack to see it)")
                Dashboard:   \(adminPort.map { "http://127.0.0.1:\($0)/" } ?? "admin listener off")   (sign in with a password and an
                             authenticator code)\(setupLink.map { "\n             First account: open \($0) (one use),\n             or in another terminal:" } ?? ". Accounts, in another terminal:")
                               .build/debug/pnyx admin create-user YOURNAME --role state_admin --config \(configPath)
                Status page: \(base)/.pnyx/status   (public: up/degraded/down, results last updated, protections)
                Report:      .build/debug/pnyx report --config \(configPath)   (requests and blocked requests per day)
                Metrics:     \(adminPort.map { "http://127.0.0.1:\($0)/metrics" } ?? "admin listener off")
                Access log:  \(dataDirectory)/access.log
                Events:      \(dataDirectory)/pnyx.sqlite
                Config:      \(configPath)
                Press Ctrl-C to stop.

                """)
        }
        try await runtime.run()
    }

    /// Pins the home and results pages and the site's script through the admin API, so the defacement demo works
    /// from the start.
    static func pinDemoPages(adminPort: Int?, tokenPath: String) async -> Bool {
        guard let adminPort, let token = AdminToken.read(path: tokenPath) else { return false }
        let response = try? await SimpleHTTPClient.request(
            host: "127.0.0.1", port: adminPort, method: "POST", path: "/api/v1/integrity/pin",
            headers: [("authorization", "Bearer \(token.value)"), ("content-type", "application/json")],
            body: #"{"site":"demo","paths":["/","/results","/assets/site.js"]}"#)
        return response?.status == 200 && response?.body.contains("failed") == false
    }

    static let staticPage = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Clearwater County Elections</title></head>
        <body><h1>Clearwater County Elections</h1>
        <p>Our website is temporarily unavailable. Election results are still available at
        <a href="/results">/results</a>. Polling places are open 7 a.m. to 8 p.m.</p>
        <p>Questions: call the County Clerk at (555) 010-0100.</p></body></html>

        """

    static func printOut(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { Glibc.write(1, $0, strlen($0)) }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        fputs(text, file)
    }
}
