import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore

/// `/.well-known/pnyx/key`, `/.well-known/pnyx/log` and `/.well-known/pnyx/log/proof?index=N`: what a reporter,
/// a candidate or `pnyx verify` needs to check a signed response.
enum WellKnown {
    struct KeyDocument: Codable {
        var site: String
        var alg = "ed25519"
        var keyid: String
        /// The raw 32-byte public key, base64.
        var publicKey: String
        var jwk: [String: String]
    }

    struct LogDocument: Codable {
        var treeHead: TreeHead
        var start: Int
        var entries: [LogEntry]
    }

    static func respond(_ context: RequestContext, entry: IntegrityFilter.SiteEntry, now: Int64) -> LocalResponse {
        let uri = context.uri
        let path = context.path
        guard let signer = entry.signer else {
            return error(.notFound, "this site publishes no signed resources")
        }
        guard context.head.method == .GET || context.head.method == .HEAD else {
            return error(.methodNotAllowed, "GET only")
        }
        let query = QueryString.parameters(uri)
        switch path {
        case "/.well-known/pnyx/key":
            let raw = signer.key.publicKey.rawRepresentation
            let document = KeyDocument(
                site: entry.site, keyid: signer.key.keyID, publicKey: raw.base64EncodedString(),
                jwk: ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(Array(raw)), "kid": signer.key.keyID])
            return json(document, cache: "public, max-age=300")
        case "/.well-known/pnyx/log":
            let head = signer.log.treeHead(now: now)
            let count = min(max(Int(query["count"] ?? "") ?? 100, 1), 1000)
            let start = Int(query["start"] ?? "") ?? max(0, head.size - count)
            return json(LogDocument(treeHead: head, start: start, entries: signer.log.entries(from: start, count: count)), cache: "no-store")
        case "/.well-known/pnyx/log/proof":
            guard let index = Int(query["index"] ?? "") else { return error(.badRequest, "give ?index=N (a Pnyx-Log-Index)") }
            guard let proof = signer.log.proof(index: index, now: now) else { return error(.notFound, "no entry \(index) in the log") }
            return json(proof, cache: "no-store")
        default:
            return error(.notFound, "unknown: try /.well-known/pnyx/key, /.well-known/pnyx/log, /.well-known/pnyx/log/proof?index=N")
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    static func json<T: Encodable>(_ value: T, cache: String) -> LocalResponse {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "cache-control", value: cache)
        headers.add(name: "access-control-allow-origin", value: "*")
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return LocalResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: data))
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> LocalResponse {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "cache-control", value: "no-store")
        return LocalResponse(status: status, headers: headers, body: ByteBuffer(string: "{\"error\":\(TextEscaping.jsonString(message))}\n"))
    }
}
