import ArgumentParser
import Foundation
import PnyxChallenge
import PnyxConfig
import PnyxCore

struct ChallengeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "challenge",
        abstract: "Tools for the bot challenge.",
        subcommands: [Clearance.self])

    struct Clearance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a clearance cookie for one client network (a monitoring script, a load test).",
            discussion: """
                Signs with the node's challenge key (challenge.key_file, or <data_dir>/challenge.key), so the running
                edge accepts it. The cookie is bound to the site and the client's network (IPv4 /24, IPv6 /64).
                Example: curl -H "Cookie: $(pnyx challenge clearance --config pnyx.yaml --site county --client 192.0.2.10)" …
                """)

        @Option(name: .shortAndLong, help: "The YAML configuration file.")
        var config: String
        @Option(help: "The site (its name in the configuration).")
        var site: String
        @Option(help: "The client address the cookie is for.")
        var client: String
        @Option(help: "How long it lasts, in seconds (at most a day).")
        var lifetime: Int = 3600

        func run() async throws {
            let configuration: PnyxConfiguration
            do {
                configuration = try ConfigLoader.load(path: config)
            } catch {
                for problem in error.errors { printError(problem.description) }
                throw ExitCode(1)
            }
            guard configuration.sites.contains(where: { $0.name.rawValue == site }) else {
                printError("no site is named '\(site)'")
                throw ExitCode(1)
            }
            guard let address = IPAddress(client) else {
                printError("'\(client)' is not an IP address")
                throw ExitCode(1)
            }
            let path = configuration.challengeKeyFile ?? "\(configuration.dataDirectory)/challenge.key"
            guard FileManager.default.fileExists(atPath: path) else {
                printError("no challenge key at \(path): start pnyx once (it creates the key), or set challenge.key_file")
                throw ExitCode(1)
            }
            let keys = try ChallengeKeys.loadOrCreate(path: path)
            let value = PnyxChallenge.Clearance.mint(
                keys: keys, site: site, prefix: ClientPrefix.of(address), now: Int64(Date().timeIntervalSince1970),
                lifetime: Int64(max(60, min(86_400, lifetime))))
            print("\(PnyxChallenge.Clearance.cookieName)=\(value)")
        }
    }
}
