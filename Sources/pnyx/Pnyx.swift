import ArgumentParser

@main
struct Pnyx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pnyx",
        abstract: "A security edge for election websites.",
        discussion: "Put Pnyx in front of an election site: it proxies HTTP/1.1, HTTP/2 and TLS to the site's servers.",
        version: PnyxVersion.string,
        subcommands: [
            ServeCommand.self, CheckConfigCommand.self, DemoCommand.self, ReloadCommand.self, BansCommand.self, CacheCommand.self,
            ChallengeCommand.self, IntegrityCommand.self, VerifyCommand.self, WAFCommand.self, AdminCommand.self, ReportCommand.self,
            VersionCommand.self,
        ]
    )
}

enum PnyxVersion {
    static let string = "0.1.0"
}
