import ArgumentParser
import Foundation
import PnyxAdmin

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Purge or publish cached responses of a running Pnyx (through the admin listener).",
        subcommands: [Purge.self, Publish.self])

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove stored responses: the URLs given, everything under --prefix, or everything with --all.",
            discussion: "URLs are paths (/results?county=1) or full URLs; every host name of the site is purged.")

        @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
        var config: String
        @Option(help: "The site (its name in the configuration).")
        var site: String
        @Option(help: "Purge every stored response whose path starts with this prefix (e.g. /results/).")
        var prefix: String?
        @Flag(help: "Purge every stored response of the site.")
        var all = false
        @Argument(help: "Paths or URLs to purge.")
        var urls: [String] = []

        func validate() throws {
            let ways = (urls.isEmpty ? 0 : 1) + (prefix == nil ? 0 : 1) + (all ? 1 : 0)
            if ways != 1 { throw ValidationError("give URLs, or --prefix, or --all (one of them)") }
        }

        func run() async throws {
            let body = try JSONEncoder.snake.encode(
                PurgeRequest(site: site, urls: urls.isEmpty ? nil : urls, prefix: prefix, all: all ? true : nil))
            let response = try await AdminCall.send(
                config: config, method: "POST", path: "/api/v1/cache/purge", action: "purging", json: String(decoding: body, as: UTF8.self))
            print(response.body)
            if response.status != 200 { throw ExitCode(1) }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Purge the URLs, fetch each again from the origin and store it, so the edge is warm before results are announced.",
            discussion: "Exits non-zero unless every URL was fetched and stored.")

        @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
        var config: String
        @Option(help: "The site (its name in the configuration).")
        var site: String
        @Argument(help: "Paths or URLs to publish (e.g. /results /results/summary.json).")
        var urls: [String]

        func validate() throws {
            if urls.isEmpty { throw ValidationError("give at least one URL") }
        }

        func run() async throws {
            let body = try JSONEncoder.snake.encode(PublishRequest(site: site, urls: urls))
            let response = try await AdminCall.send(
                config: config, method: "POST", path: "/api/v1/cache/publish", action: "publishing", json: String(decoding: body, as: UTF8.self))
            guard response.status == 200 else {
                printError(response.body)
                throw ExitCode(1)
            }
            let outcomes = try JSONDecoder().decode([PublishOutcome].self, from: Data(response.body.utf8))
            for outcome in outcomes { print("\(outcome.result.padding(toLength: 12, withPad: " ", startingAt: 0)) \(outcome.url)  (\(outcome.detail))") }
            if !outcomes.allSatisfy({ $0.result == "stored" }) { throw ExitCode(1) }
        }
    }
}

extension JSONEncoder {
    static var snake: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }
}
