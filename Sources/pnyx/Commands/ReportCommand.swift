import ArgumentParser
import Logging
import Foundation
import PnyxAdmin
import PnyxConfig
import PnyxControl
import PnyxCore
import PnyxStore

/// `pnyx report`: the officials' report from the event database (Pnyx need not be running).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print requests, blocked requests per day by kind, the peak day and notable incidents.",
        discussion: "The same numbers as the dashboard's Reports page and GET /api/v1/report. Dates are UTC days, inclusive.")

    @Option(name: .shortAndLong, help: "The YAML configuration file (its data_dir holds the events).")
    var config: String

    @Option(help: "One site (default: every site).")
    var site: String?

    @Option(help: "First day, YYYY-MM-DD (default: 30 days before --to).")
    var from: String?

    @Option(help: "Last day, YYYY-MM-DD (default: today).")
    var to: String?

    @Option(help: "text or csv.")
    var format: String = "text"

    func run() async throws {
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            for problem in error.errors { printError(problem.description) }
            throw ExitCode(1)
        }
        if let site, !configuration.sites.contains(where: { $0.name.rawValue == site }) {
            printError("no site named '\(site)' in \(config)")
            throw ExitCode(1)
        }
        guard format == "text" || format == "csv" else {
            printError("--format is text or csv")
            throw ExitCode(1)
        }
        let range: (Int64, Int64)
        do {
            range = try Report.range(from: from, to: to, now: wallMillis())
        } catch let error as AdminInputError {
            printError(error.message)
            throw ExitCode(1)
        }
        var logger = Logger(label: "pnyx.report")
        logger.logLevel = .warning
        let report = try await NodeStores.withEventStore(configuration: configuration, logger: logger) { store in
            let sites = site.map { [$0] }
            let traffic = try await store.dailyTraffic(sites: sites, fromMillis: range.0, toMillis: range.1)
            let counts = try await store.dailyCounts(sites: sites, fromMillis: range.0, toMillis: range.1)
            var incidents: [StoredEvent] = []
            for filter in ["escalation", "health", "integrity"] {
                incidents += try await store.query(EventQuery(sites: sites, filter: filter, fromMillis: range.0, toMillis: range.1, limit: 200))
                    .filter { Report.isIncident($0.event) }
            }
            let report = Report(
                title: "Pnyx report: \(site ?? "all sites")", sites: sites ?? [], fromMillis: range.0, toMillis: range.1, traffic: traffic,
                counts: counts, incidents: incidents)
            return report
        }
        print(format == "csv" ? report.csv : report.text, terminator: "")
    }
}
