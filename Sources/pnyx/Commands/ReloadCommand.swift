import ArgumentParser

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Ask a running Pnyx to reload its configuration (through the admin listener).",
        discussion: "Reads the admin address and data directory from the configuration file. Same as sending SIGHUP.")

    @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
    var config: String

    func run() async throws {
        let response = try await AdminCall.send(config: config, method: "POST", path: "/api/v1/reload", action: "reloading")
        print(response.body)
        if response.status != 200 { throw ExitCode(1) }
    }
}
