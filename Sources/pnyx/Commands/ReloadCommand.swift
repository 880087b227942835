import ArgumentParser
import PnyxAdmin
import PnyxConfig

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Ask a running Pnyx to reload its configuration (through the admin listener).",
        discussion: "Reads the admin address and data directory from the configuration file. Same as sending SIGHUP.")

    @Option(name: .shortAndLong, help: "The YAML configuration file the running Pnyx uses.")
    var config: String

    func run() async throws {
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            for problem in error.errors { printError(problem.description) }
            printError("not reloading: the file has errors (the running configuration is unchanged)")
            throw ExitCode(1)
        }
        guard let admin = configuration.admin.listen else {
            printError("admin listener is off; send SIGHUP to the pnyx process instead")
            throw ExitCode(1)
        }
        let tokenPath = AdminToken.path(dataDirectory: configuration.dataDirectory)
        guard let token = AdminToken.read(path: tokenPath) else {
            printError("cannot read the admin token at \(tokenPath)")
            throw ExitCode(1)
        }
        let host = admin.host == "0.0.0.0" ? "127.0.0.1" : (admin.host == "::" ? "::1" : admin.host)
        let response = try await SimpleHTTPClient.request(
            host: host, port: admin.port, method: "POST", path: "/api/v1/reload",
            headers: [("authorization", "Bearer \(token.value)")])
        print(response.body)
        if response.status != 200 { throw ExitCode(1) }
    }
}
