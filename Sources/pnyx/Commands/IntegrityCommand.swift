import ArgumentParser
import Foundation
import PnyxAdmin

struct IntegrityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Pin pages and assets of a site, approve new versions, and see what changed (through the admin listener).",
        subcommands: [Pin.self, Approve.self, Unpin.self, Status.self, Scripts.self, ApproveScripts.self])

    struct SiteOptions: ParsableArguments {
        @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
        var config: String
        @Option(help: "The site (its name in the configuration).")
        var site: String
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch paths from the origin and make them the approved versions.",
            discussion: """
                Pnyx then compares every origin response for these paths with the approved version: in monitor mode it \
                raises an alert when they differ, in protect mode it serves the approved version and holds the new one \
                for `pnyx integrity approve`. With --depth, the site's own links (pages, scripts, stylesheets) are \
                followed and pinned too. Exits non-zero unless every path was pinned.
                """)
        @OptionGroup var options: SiteOptions
        @Option(help: "Follow the site's own links this many levels (0-5).")
        var depth = 0
        @Argument(help: "Paths to pin (e.g. / /results /assets/app.js).")
        var paths: [String]

        func validate() throws {
            if paths.isEmpty { throw ValidationError("give at least one path") }
            if let bad = paths.first(where: { !$0.hasPrefix("/") }) { throw ValidationError("paths start with '/': '\(bad)'") }
            if !(0...5).contains(depth) { throw ValidationError("--depth is 0 to 5") }
        }

        func run() async throws {
            let answer = try await IntegrityCommand.post(
                PinRequest(site: options.site, paths: paths, depth: depth), to: "/api/v1/integrity/pin", action: "pinning",
                config: options.config)
            let results = try JSONDecoder.snake.decode([PinResult].self, from: Data(answer.utf8))
            for r in results { print("\(r.result.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.path)  (\(r.detail))") }
            if !results.allSatisfy({ $0.result == "pinned" }) { throw ExitCode(1) }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the version of a path held for approval (see `status`) its approved version.")
        @OptionGroup var options: SiteOptions
        @Argument(help: "The pinned path.")
        var path: String

        func run() async throws {
            let answer = try await IntegrityCommand.post(
                PathRequest(site: options.site, path: path), to: "/api/v1/integrity/approve", action: "approving", config: options.config)
            let baseline = try JSONDecoder.snake.decode(IntegrityBaseline.self, from: Data(answer.utf8))
            print("approved \(baseline.path): \(baseline.size) bytes, sha-256 \(baseline.digest)")
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop comparing a path.")
        @OptionGroup var options: SiteOptions
        @Argument(help: "The pinned path.")
        var path: String

        func run() async throws {
            print(
                try await IntegrityCommand.post(
                    PathRequest(site: options.site, path: path), to: "/api/v1/integrity/unpin", action: "unpinning", config: options.config))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pinned paths, versions waiting for approval, and signing.")
        @OptionGroup var options: SiteOptions

        func run() async throws {
            let site = options.site.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? options.site
            let answer = try await IntegrityCommand.get("/api/v1/integrity?site=\(site)", action: "reading the status", config: options.config)
            let status = try JSONDecoder.snake.decode(IntegrityStatus.self, from: Data(answer.utf8))
            print("site \(status.site): pinned paths in \(status.mode) mode unless listed otherwise")
            if status.signedPaths.isEmpty {
                print("signed paths: none")
            } else {
                print("signed paths: \(status.signedPaths.joined(separator: " ")); key \(status.keyid ?? "-"); log \(status.logSize) entries")
            }
            print("\npinned (\(status.baselines.count)):")
            for b in status.baselines {
                print("  \(b.mode.padding(toLength: 8, withPad: " ", startingAt: 0)) \(b.path)  \(b.size) bytes, approved \(b.approvedAt) (\(b.approvedBy))")
            }
            print("\nwaiting for approval (\(status.pending.count)):")
            for p in status.pending {
                print("  \(p.path)  \(p.size) bytes, sha-256 \(p.digest.prefix(12)), first seen \(p.firstSeen), seen \(p.seen)x")
            }
        }
    }
}

extension IntegrityCommand {
    struct Scripts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the scripts the site's pages load (the inventory), newest last.")
        @OptionGroup var options: SiteOptions
        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let site = options.site.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? options.site
            let answer = try await IntegrityCommand.get(
                "/api/v1/integrity/scripts?site=\(site)", action: "reading the inventory", config: options.config)
            if json {
                print(answer)
                return
            }
            let scripts = try JSONDecoder.snake.decode([InventoryScript].self, from: Data(answer.utf8))
            for s in scripts {
                let state = s.flagged.map { "FLAGGED:\($0)" } ?? (s.approved ? "approved" : "new")
                let party = s.thirdParty ? "third-party" : (s.kind == "inline" ? "inline" : "own")
                print("\(state.padding(toLength: 20, withPad: " ", startingAt: 0)) \(party.padding(toLength: 11, withPad: " ", startingAt: 0)) \(s.id)")
                print("                     first \(s.firstSeen), last \(s.lastSeen), on \(s.pages.prefix(3).joined(separator: " ")) (\(s.source))")
            }
            print("\(scripts.count) script(s); \(scripts.filter { !$0.approved }.count) not approved")
        }
    }

    struct ApproveScripts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve-scripts",
            abstract: "Approve scripts of the inventory by id, or --all (every script not flagged as known-bad).")
        @OptionGroup var options: SiteOptions
        @Flag(help: "Approve every script not flagged.")
        var all = false
        @Argument(help: "Script ids (URLs, or inline:sha256-…) from `pnyx integrity scripts`.")
        var ids: [String] = []

        func validate() throws {
            if all == !ids.isEmpty { throw ValidationError("give ids, or --all") }
        }

        func run() async throws {
            print(
                try await IntegrityCommand.post(
                    ApproveScriptsRequest(site: options.site, ids: all ? nil : ids, all: all ? true : nil),
                    to: "/api/v1/integrity/scripts/approve", action: "approving scripts", config: options.config))
        }
    }
}

extension IntegrityCommand {
    /// POSTs `request` as JSON to the admin API; returns the body of a 200, or prints the error and exits 1.
    static func post<Request: Encodable>(_ request: Request, to path: String, action: String, config: String) async throws -> String {
        let body = try JSONEncoder.snake.encode(request)
        let response = try await AdminCall.send(
            config: config, method: "POST", path: path, action: action, json: String(decoding: body, as: UTF8.self))
        guard response.status == 200 else {
            printError(response.body)
            throw ExitCode(1)
        }
        return response.body
    }

    /// GETs an admin API path; returns the body of a 200, or prints the error and exits 1.
    static func get(_ path: String, action: String, config: String) async throws -> String {
        let response = try await AdminCall.send(config: config, method: "GET", path: path, action: action)
        guard response.status == 200 else {
            printError(response.body)
            throw ExitCode(1)
        }
        return response.body
    }
}

extension JSONDecoder {
    static var snake: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
