import ArgumentParser
import Logging
import PnyxConfig

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the edge with a configuration file.")

    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Once listening, write the bound ports here as JSON (useful with port 0).")
    var readyFile: String?

    func run() async throws {
        let logger = Bootstrap.start(logLevel: logLevel)
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            for problem in error.errors { printError(problem.description) }
            throw ExitCode(1)
        }
        var runtime = EdgeRuntime(configPath: config, configuration: configuration, logger: logger)
        if let readyFile {
            let httpCount = configuration.httpListeners.count
            runtime.onReady = { addresses, adminPort, _ in
                let ports = addresses.compactMap(\.port)
                let http = ports.prefix(httpCount).map(String.init).joined(separator: ",")
                let https = ports.dropFirst(httpCount).map(String.init).joined(separator: ",")
                let json = "{\"http\":[\(http)],\"https\":[\(https)],\"admin\":\(adminPort.map(String.init) ?? "null")}\n"
                try? DemoCommand.write(json, to: readyFile + ".tmp")
                _ = rename(readyFile + ".tmp", readyFile)
            }
        }
        try await runtime.run()
    }
}
