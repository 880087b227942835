import ArgumentParser
import PnyxCore
import PnyxWAF

/// `pnyx waf …`: the WAF engine on its own (conformance runs against CRS's regression tests).
struct WAFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waf",
        abstract: "Work with the WAF engine: run CRS's regression tests against it.",
        subcommands: [WAFTestCommand.self, WAFBenchCommand.self]
    )
}

struct WAFTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run CRS's go-ftw regression tests against Pnyx's SecLang engine (in process).",
        discussion: """
            Loads the Core Rule Set from --rules (its rules/*.conf and crs-setup.conf.example, unmodified) with the \
            settings CRS's own CI uses (blocking paranoia level 4, detection only), runs every YAML test under \
            --tests, and prints passed / failed per rule file, then `N passed, N failed`. Tests listed in \
            --overrides (with a reason) are reported apart and not counted as failures. Exits 1 if any test failed.
            """)

    @Option(help: "The CRS directory (with rules/ and crs-setup.conf.example).")
    var rules: String
    @Option(help: "The directory of go-ftw YAML tests (CRS's tests/regression/tests).")
    var tests: String
    @Option(help: "A YAML file of known differences (test_overrides with rule_id, test_ids and reason).")
    var overrides: String?
    @Option(help: "Only test files whose path contains this text (e.g. 942 or REQUEST-941).")
    var filter: String?
    @Flag(help: "List every failing test with the reason.")
    var verbose = false

    func run() throws {
        let start = ContinuousClock.now
        let ruleSet: RuleSet
        do {
            ruleSet = try FTWRunner.loadCRS(rules)
        } catch {
            print("error: \(error)")
            throw ExitCode(2)
        }
        let loadTime = ContinuousClock.now - start
        print("loaded \(ruleSet.ruleCount) rules in \(loadTime.formatted(.units(allowed: [.milliseconds])))")
        let runner = try FTWRunner(rules: ruleSet, overridesFile: overrides)
        let report = try runner.run(testsDirectory: tests, filter: filter)
        for file in report.perFile {
            let mark = file.failed == 0 ? "ok  " : "FAIL"
            print("\(mark) \(file.file): \(file.passed) passed, \(file.failed) failed")
        }
        for failure in report.failures where verbose || failure.overridden == nil {
            let note = failure.overridden.map { " [override: \($0)]" } ?? ""
            if failure.overridden == nil || verbose {
                print("  \(failure.ruleID)-\(failure.testID): \(failure.reason)\(note)")
            }
        }
        let percent = (report.percent * 100).rounded() / 100
        print("\(report.overridden) overridden (known differences, listed with reasons)")
        print("pass rate \(percent)% (\(report.passed) of \(report.passed + report.failed + report.overridden))")
        print("\(report.passed) passed, \(report.failed) failed")
        if report.failed > 0 { throw ExitCode(1) }
    }
}

/// `pnyx waf bench`: the engine alone, no network: CPU time per typical request at a paranoia level.
struct WAFBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the WAF engine alone: CRS load time and microseconds of CPU per typical GET and 1 KB form POST.",
        discussion: """
            Loads CRS (Debian's modsecurity-crs by default, or --rules DIR with rules/*.conf) in blocking mode at \
            --paranoia, then evaluates a benign GET with five query parameters and a benign 1 KB URL-encoded POST, \
            both with real browser headers, and the same GET with its answer (a 2.7 KB HTML page through the \
            response phases, as the proxy inspects it), --iterations times each on one thread, and prints the mean \
            time per request. Use a release build.
            """)

    @Option(help: "The CRS directory (with rules/*.conf).")
    var rules: String = WAFPolicy().rulesDirectory
    @Option(help: "The crs-setup.conf to use (default: Debian's, or the directory's crs-setup.conf.example).")
    var setup: String?
    @Option(help: "Paranoia level (1-4).")
    var paranoia: Int = 1
    @Option(help: "Requests of each kind.")
    var iterations: Int = 20000
    @Option(help: "Which requests to run: get, post, page (the GET and its HTML answer) or all (one alone is handy under a profiler).")
    var workload: Workload = .all

    enum Workload: String, ExpressibleByArgument, CaseIterable { case get, post, page, all }

    /// The answer of the `page` workload: a 2.7 KB HTML page of ordinary text (what the proxy's response phases see).
    static var page: [UInt8] {
        var html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Polling place lookup</title>"
            + "<link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><main><h1>Find your polling place</h1>"
        let paragraph = "<p>Polls are open from 7 a.m. to 8 p.m. on Election Day. Bring an accepted photo ID; if you moved "
            + "within the county, you can update your address at the polling place. Questions? Call the county "
            + "elections office at 555-0100 or write to elections@example.gov.</p>"
        while html.utf8.count < 2600 { html += paragraph }
        html += "<script src=\"/static/lookup.js\"></script></main></body></html>"
        return Array(html.utf8)
    }

    static let headers: [(name: String, value: String)] = [
        ("Host", "vote.example.gov"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9,es;q=0.8"), ("Accept-Encoding", "gzip, deflate, br"),
        ("Referer", "https://vote.example.gov/register"), ("Cookie", "session=3f9a8c0e5b7d4a21; lang=en"),
    ]

    static var formBody: String {
        var fields = [
            "first_name=Siobhan", "last_name=O%27Brien", "street=1234+Main+St+%234%3B+Apt+2", "city=Clearwater",
            "zip=55555", "county=Clearwater", "dob=1980-04-12", "email=siobhan.obrien%40example.com",
            "phone=555-0100", "party=none", "language=en",
        ]
        var body = fields.joined(separator: "&")
        let comment = "&comments=I+moved+here+last+year+and+want+to+update+my+address.+Please+select+the+right+precinct"
            + "+for+me%2C+I+could+not+find+it+on+the+union+county+map.+Thanks%21"
        body += comment
        while body.utf8.count < 1000 { fields.append("x\(fields.count)=filler"); body += "&x\(fields.count)=more+text+here" }
        return body
    }

    func run() throws {
        var policy = WAFPolicy()
        policy.rulesDirectory = rules
        policy.setupFile = setup
        policy.paranoiaLevel = paranoia
        let start = ContinuousClock.now
        let ruleSet = try WAFRuleSets.load(policy)
        print("loaded \(ruleSet.ruleCount) rules in \(Self.ms(ContinuousClock.now - start)) ms (paranoia level \(paranoia))")
        let get = WAFRequest(method: "GET", target: "/lookup?first=Siobhan&last=O%27Brien&zip=55555&county=Clearwater&lang=en",
                             headers: Self.headers)
        var postHeaders = Self.headers
        let body = Array(Self.formBody.utf8)
        postHeaders.append(("Content-Type", "application/x-www-form-urlencoded"))
        postHeaders.append(("Content-Length", String(body.count)))
        let post = WAFRequest(method: "POST", target: "/register", headers: postHeaders)
        let scratch = RegexScratch()
        let page = Self.page
        let all: [(Workload, String, WAFRequest, [UInt8], [UInt8]?)] = [
            (.get, "GET (5 query parameters)", get, [], nil),
            (.post, "POST (\(body.count) B form)", post, body, nil),
            (.page, "GET with its answer (\(page.count) B HTML page)", get, [], page),
        ]
        for (kind, name, request, payload, answer) in all where workload == .all || workload == kind {
            var blocked = 0
            let sample = Transaction(rules: ruleSet, request: request, scratch: scratch)
            _ = Self.evaluate(sample, payload, answer)
            print("\(name): \(sample.rulesEvaluated) rules evaluated, \(sample.operatorRuns) operator runs on values")
            for _ in 0..<min(200, iterations) { _ = Self.evaluate(Transaction(rules: ruleSet, request: request, scratch: scratch), payload, answer) }
            let began = ContinuousClock.now
            for _ in 0..<iterations where Self.evaluate(Transaction(rules: ruleSet, request: request, scratch: scratch), payload, answer) {
                blocked += 1
            }
            let elapsed = ContinuousClock.now - began
            let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
            let per = (micros / Double(iterations) * 10).rounded() / 10
            print("\(name): \(per) µs per request (\(iterations) requests, \(blocked) blocked)")
        }
    }

    /// Runs the request phases (and, with an answer, the response phases as the proxy does for an HTML page);
    /// whether the transaction was interrupted.
    static func evaluate(_ transaction: Transaction, _ body: [UInt8], _ answer: [UInt8]?) -> Bool {
        if transaction.processRequestHeaders() != nil { return true }
        if transaction.processRequestBody(body) != nil { return true }
        guard let answer else { return false }
        let headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", String(answer.count))]
        if transaction.processResponseHeaders(status: 200, headers: headers) != nil { return true }
        return transaction.processResponseBody(answer) != nil
    }

    static func ms(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
