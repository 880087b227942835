import ArgumentParser
import Logging
import PnyxConfig

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the edge with a configuration file.")

    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let logger = Bootstrap.start(logLevel: logLevel)
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            for problem in error.errors { printError(problem.description) }
            throw ExitCode(1)
        }
        try await EdgeRuntime(configPath: config, configuration: configuration, logger: logger).run()
    }
}
