import ArgumentParser
import Foundation
import PnyxAdmin

struct BansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bans",
        abstract: "List or lift the bans of a running Pnyx (through the admin listener).",
        subcommands: [List.self, Clear.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the client addresses banned now.")

        @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
        var config: String

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let response = try await AdminCall.send(config: config, method: "GET", path: "/api/v1/bans", action: "listing bans")
            guard response.status == 200 else {
                printError(response.body)
                throw ExitCode(1)
            }
            if json {
                print(response.body)
                return
            }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let bans = try decoder.decode([AdminBan].self, from: Data(response.body.utf8))
            if bans.isEmpty {
                print("no bans in force")
                return
            }
            print("ADDRESS".padding(40), "ENDS IN".padding(10), "SITE".padding(16), "REASON")
            for ban in bans {
                print(ban.address.padding(40), "\(ban.secondsLeft)s".padding(10), ban.site.padding(16), ban.reason)
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift the ban on one address, or all bans with --all.")

        @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
        var config: String

        @Argument(help: "The banned client address.")
        var address: String?

        @Flag(help: "Lift every ban.")
        var all = false

        func validate() throws {
            if (address == nil) == !all { throw ValidationError("give one address, or --all") }
        }

        func run() async throws {
            let path = all ? "/api/v1/bans" : "/api/v1/bans/\(address!)"
            let response = try await AdminCall.send(config: config, method: "DELETE", path: path, action: "clearing bans")
            print(response.body)
            if response.status != 200 { throw ExitCode(1) }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
