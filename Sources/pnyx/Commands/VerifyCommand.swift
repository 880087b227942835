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
            """)

    @Argument(help: "The resource, e.g. https://vote.example.gov/results/summary.json")
    var url: String
    @Option(help: "Pin the expected key id (from a trusted source) instead of trusting the one the site serves now.")
    var keyid: String?
    @Flag(help: "Accept any TLS certificate (testing only).")
    var insecure = false
    @Flag(help: "Print the checks as JSON.")
    var json = false

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
            let resource = try await Self.get(client, url)
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
