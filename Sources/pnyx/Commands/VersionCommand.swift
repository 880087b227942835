import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the Pnyx version.")

    func run() {
        print("pnyx \(PnyxVersion.string)")
    }
}
