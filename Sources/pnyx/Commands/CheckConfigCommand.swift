import ArgumentParser
import PnyxWAF
import PnyxConfig
import PnyxCore
import PnyxServer

#if canImport(Glibc)
import Glibc
#endif

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print every error found (exit status 1 if any).")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: file)
        } catch {
            for problem in error.errors { printError(problem.description) }
            printError("\(file): \(error.errors.count) error\(error.errors.count == 1 ? "" : "s"); configuration refused")
            throw ExitCode(1)
        }
        do {
            // Opens what the running edge would open (certificates, origins, the country database, the WAF's rules).
            let countries = CountryDatabases()
            let waf = WAFRuleSets()
            _ = try SnapshotBuilder(events: DiscardingEventSink(), makeChain: { configuration, sites in
                if let path = configuration.geoipDatabase { _ = try countries.open(path) }
                do {
                    _ = try WAFFilter(sites: sites, ruleSets: waf)
                } catch {
                    throw SnapshotBuildError(problems: ["waf: \(error)"])
                }
                return FilterChain([])
            })
            .build(configuration, generation: 0)
        } catch {
            printError("\(file): \(error)")
            throw ExitCode(1)
        }
        let listeners = configuration.httpListeners.map { "http://\($0)" } + configuration.httpsListeners.map { "https://\($0)" }
        print("\(file): OK: \(configuration.sites.count) site\(configuration.sites.count == 1 ? "" : "s"); listening on \(listeners.joined(separator: ", "))")
        for site in configuration.sites {
            print("  \(site.name): \(site.hosts.joined(separator: ", ")) -> \(site.origins.map(\.description).joined(separator: ", "))")
        }
    }
}

func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
