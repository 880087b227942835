import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PnyxIntegrity

/// `pnyx verify URL`: checks a signed response from any Pnyx, as a reporter or a candidate would.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a published resource is what the site signed and logged.",
        discussion: """
            Fetches URL, then checks its Content-Digest (RFC 9530) against the body, its HTTP Message Signature \
            (RFC 9421, Ed25519) against the key the site publishes at /.well-known/pnyx/key, and that this version is \
            in the site's append-only log (/.well-known/pnyx/log/proof). Exits 0 only if every check passes.

            To check a copy someone saved (`curl -s -D copy.headers -o copy.body URL`), give --headers and --body:             the copy is checked instead of a fresh fetch, against the key and log the site publishes now.
            """)

    @Argument(help: "The resource, e.g. https://vote.example.gov/results/summary.json")
    var url: String
    @Option(help: "Pin the expected key id (from a trusted source) instead of trusting the one the site serves now.")
    var keyid: String?
    @Flag(help: "Accept any TLS certificate (testing only).")
    var insecure = false
    @Flag(help: "Print the checks as JSON.")
    var json = false
    @Option(help: "A saved copy's response headers (as `curl -D` writes them): check the copy, not a fresh fetch.")
    var headers: String?
    @Option(help: "A saved copy's body (with --headers).")
    var body: String?

    func validate() throws {
        if (headers == nil) != (body == nil) { throw ValidationError("--headers and --body go together") }
    }

    /// A saved copy: the fields of the last response head in a `curl -D` file, and the body file's bytes.
    static func savedCopy(headers: String, body: String) throws -> Fetched {
        guard let text = FileManager.default.contents(atPath: headers).map({ String(decoding: $0, as: UTF8.self) }),
            let bytes = FileManager.default.contents(atPath: body)
        else { throw ValidationError("cannot read \(headers) or \(body)") }
        // curl -D writes every head (100 Continue, redirects): the last one is the response's.
        let heads = text.components(separatedBy: "\r\n\r\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard let last = heads.last else { throw ValidationError("\(headers) holds no response head") }
        var lines = last.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
        let statusLine = lines.isEmpty ? "" : lines.removeFirst()
        var fields: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields[name] = fields[name].map { "\($0), \(value)" } ?? value
        }
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Fetched(status: status, headers: fields, body: Array(bytes))
    }

    func run() async throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), let host = parsed.host else {
            printError("expected an http:// or https:// URL, got '\(url)'")
            throw ExitCode(2)
        }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        if insecure { configuration.tlsConfiguration = .makeClientConfiguration(); configuration.tlsConfiguration?.certificateVerification = .none }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let origin = "\(scheme)://\(parsed.port.map { "\(host):\($0)" } ?? host)"
        var checks: [ResponseVerifier.Check] = []
        do {
            let resource: Fetched
            if let headers, let body {
                resource = try Self.savedCopy(headers: headers, body: body)
            } else {
                resource = try await Self.get(client, url)
            }
            guard resource.status == 200 else {
                try? await client.shutdown()
                printError("\(url) answered \(resource.status)")
                throw ExitCode(1)
            }
            let path = parsed.path.isEmpty ? "/" : parsed.path
            let verifier = ResponseVerifier(path: path, headers: resource.headers, body: resource.body)
            let keyResponse = try await Self.get(client, "\(origin)/.well-known/pnyx/key")
            guard keyResponse.status == 200,
                let key = try? ResponseVerifier.decoder.decode(ResponseVerifier.KeyDocument.self, from: Data(keyResponse.body))
            else {
                try? await client.shutdown()
                printError("\(origin)/.well-known/pnyx/key answered \(keyResponse.status): the site publishes no key")
                throw ExitCode(1)
            }
            if let keyid, keyid != key.keyid {
                checks.append(.init(name: "key", passed: false, detail: "the site serves key \(key.keyid), expected \(keyid)"))
            }
            checks += verifier.verifySignature(key: key)
            if let index = verifier.logIndex {
                let proofResponse = try await Self.get(client, "\(origin)/.well-known/pnyx/log/proof?index=\(index)")
                if proofResponse.status == 200,
                    let proof = try? ResponseVerifier.decoder.decode(InclusionProof.self, from: Data(proofResponse.body))
                {
                    checks += verifier.verifyLog(proof, key: key)
                } else {
                    checks.append(.init(name: "log-inclusion", passed: false, detail: "no proof for log entry \(index) (\(proofResponse.status))"))
                }
            } else {
                checks.append(.init(name: "log-inclusion", passed: false, detail: "the response names no log entry (Pnyx-Log-Index)"))
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try? await client.shutdown()
            printError("cannot fetch: \(error)")
            throw ExitCode(1)
        }
        try? await client.shutdown()
        let ok = !checks.isEmpty && checks.allSatisfy(\.passed)
        if json {
            let rows = checks.map { "{\"check\":\"\($0.name)\",\"passed\":\($0.passed),\"detail\":\(Self.quote($0.detail))}" }
            print("{\"url\":\(Self.quote(url)),\"verified\":\(ok),\"checks\":[\(rows.joined(separator: ","))]}")
        } else {
            for check in checks { print("\(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)") }
            print(ok ? "VERIFIED: \(url) is the version the site signed and logged" : "NOT VERIFIED: \(url)")
        }
        if !ok { throw ExitCode(1) }
    }

    struct Fetched {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    static func get(_ client: HTTPClient, _ url: String) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "user-agent", value: "pnyx-verify")
        request.headers.add(name: "accept-encoding", value: "identity")
        let response = try await client.execute(request, timeout: .seconds(30))
        var headers: [String: String] = [:]
        for (name, value) in response.headers {
            let key = name.lowercased()
            headers[key] = headers[key].map { "\($0), \(value)" } ?? value
        }
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Fetched(status: Int(response.status.code), headers: headers, body: Array(body.readableBytesView))
    }

    static func quote(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
