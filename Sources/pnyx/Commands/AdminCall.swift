import ArgumentParser
import PnyxAdmin
import PnyxConfig

/// A call to the running Pnyx's admin API, addressed and authorized from its configuration file (the admin
/// listener's address and the token in the data directory). Used by `reload` and `bans`.
enum AdminCall {
    static func send(config: String, method: String, path: String, action: String, json: String? = nil) async throws -> SimpleHTTPClient.Response {
        let configuration: PnyxConfiguration
        do {
            configuration = try ConfigLoader.load(path: config)
        } catch {
            for problem in error.errors { printError(problem.description) }
            printError("not \(action): the file has errors")
            throw ExitCode(1)
        }
        guard let admin = configuration.admin.listen else {
            printError("the admin listener is off in \(config); \(action) needs it")
            throw ExitCode(1)
        }
        let tokenPath = AdminToken.path(dataDirectory: configuration.dataDirectory)
        guard let token = AdminToken.read(path: tokenPath) else {
            printError("cannot read the admin token at \(tokenPath)")
            throw ExitCode(1)
        }
        let host = admin.host == "0.0.0.0" ? "127.0.0.1" : (admin.host == "::" ? "::1" : admin.host)
        do {
            return try await SimpleHTTPClient.request(
                host: host, port: admin.port, method: method, path: path,
                headers: [("authorization", "Bearer \(token.value)")] + (json == nil ? [] : [("content-type", "application/json")]),
                body: json ?? "")
        } catch {
            printError("cannot reach the running Pnyx at \(host):\(admin.port): \(error)")
            throw ExitCode(1)
        }
    }
}
