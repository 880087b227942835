import ArgumentParser
import PnyxWAF

/// `pnyx waf …`: the WAF engine on its own (conformance runs against CRS's regression tests).
struct WAFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waf",
        abstract: "Work with the WAF engine: run CRS's regression tests against it.",
        subcommands: [WAFTestCommand.self]
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
