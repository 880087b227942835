import Crypto
import Foundation
import PnyxCore
import RawStructuredFieldValues

/// Checks a signed response as `pnyx verify` does: its content digest, its HTTP Message Signature under the site's
/// published key, and its inclusion in the site's published log. Pure: the caller fetches.
public struct ResponseVerifier {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var passed: Bool
        public var detail: String
        public init(name: String, passed: Bool, detail: String) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }
    }

    /// The key document at `/.well-known/pnyx/key`.
    public struct KeyDocument: Codable, Sendable {
        public var site: String
        public var alg: String
        public var keyid: String
        public var publicKey: String
    }

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// The parts of a signed response that matter, with header names lower-case.
    public var path: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(path: String, headers: [String: String], body: [UInt8]) {
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The log entry the response names (`Pnyx-Log-Index`), if any.
    public var logIndex: Int? { headers["pnyx-log-index"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    /// Digest and signature checks. `key` is the site's published key document.
    public func verifySignature(key: KeyDocument) -> [Check] {
        var checks: [Check] = []
        guard let digestField = headers["content-digest"] else {
            return [Check(name: "content-digest", passed: false, detail: "the response has no Content-Digest: it is not signed")]
        }
        switch ContentDigest.check(digestField, body: body) {
        case .matches(let algorithm):
            checks.append(Check(name: "content-digest", passed: true, detail: "\(algorithm) of the \(body.count)-byte body matches"))
        case .mismatch(let algorithm):
            checks.append(Check(name: "content-digest", passed: false, detail: "\(algorithm) of the body does NOT match: the content was changed"))
        case .unusable:
            checks.append(Check(name: "content-digest", passed: false, detail: "no sha-256 or sha-512 digest in '\(digestField)'"))
        }
        guard let inputField = headers["signature-input"], let signatureField = headers["signature"] else {
            checks.append(Check(name: "signature", passed: false, detail: "the response has no Signature-Input/Signature"))
            return checks
        }
        do {
            var inputParser = StructuredFieldValueParser(Array(inputField.utf8))
            let inputs = try inputParser.parseDictionaryFieldValue()
            var signatureParser = StructuredFieldValueParser(Array(signatureField.utf8))
            let signatures = try signatureParser.parseDictionaryFieldValue()
            guard let label = inputs["pnyx"] != nil ? "pnyx" : inputs.first?.0, case .innerList(let list)? = inputs[label],
                case .item(let signatureItem)? = signatures[label], case .undecodedByteSequence(let encoded) = signatureItem.rfc9651BareItem,
                let signature = Data(base64Encoded: encoded)
            else {
                checks.append(Check(name: "signature", passed: false, detail: "Signature-Input and Signature name no common signature"))
                return checks
            }
            let parameters = try Self.parameters(list)
            guard parameters.components.contains("\"content-digest\"") else {
                checks.append(Check(name: "signature", passed: false, detail: "the signature does not cover content-digest"))
                return checks
            }
            guard parameters.keyID == nil || parameters.keyID == key.keyid else {
                checks.append(Check(name: "signature", passed: false, detail: "signed with key \(parameters.keyID ?? "-"), the site publishes \(key.keyid)"))
                return checks
            }
            guard let raw = Data(base64Encoded: key.publicKey), let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                checks.append(Check(name: "signature", passed: false, detail: "the published key is not an Ed25519 key"))
                return checks
            }
            let components = SignatureComponents(path: path, fields: headers)
            let base = try components.signatureBase(parameters)
            let valid = publicKey.isValidSignature(signature, for: Data(base.utf8))
            let created = parameters.created.map { " at \(iso8601(millis: Int64($0) * 1000))" } ?? ""
            checks.append(
                Check(
                    name: "signature", passed: valid,
                    detail: valid
                        ? "Ed25519 signature by \(key.site)'s key \(key.keyid) over \(parameters.components.joined(separator: " "))\(created)"
                        : "the Ed25519 signature does NOT verify over \(parameters.components.joined(separator: " "))"))
        } catch {
            checks.append(Check(name: "signature", passed: false, detail: "cannot read the signature fields: \(error)"))
        }
        return checks
    }

    /// Log checks: the proof's entry is this path and this content, the proof leads to the tree head's root, and
    /// the tree head is signed by the site's key.
    public func verifyLog(_ proof: InclusionProof, key: KeyDocument) -> [Check] {
        var checks: [Check] = []
        let digest = Data(ContentDigest.sha256(body)).base64EncodedString()
        let entry = proof.entry
        let matches = entry.path == path && entry.digest == digest
        checks.append(
            Check(
                name: "log-entry", passed: matches,
                detail: matches
                    ? "entry \(entry.index) records this path and content, first signed \(iso8601(millis: Int64(entry.time) * 1000))"
                    : "entry \(entry.index) records \(entry.path) with sha-256 \(entry.digest.prefix(12)), not this response"))
        let included = proof.verify()
        checks.append(
            Check(
                name: "log-inclusion", passed: included,
                detail: included
                    ? "Merkle proof (\(proof.proof.count) hashes) leads to the root of the \(proof.treeHead.size)-entry tree"
                    : "the Merkle proof does NOT lead to the tree head's root"))
        let headSigned = (Data(base64Encoded: key.publicKey).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) })
            .map { proof.treeHead.verify(publicKey: $0) } ?? false
        checks.append(
            Check(
                name: "tree-head", passed: headSigned && proof.treeHead.site == key.site,
                detail: headSigned ? "tree head of \(proof.treeHead.site) signed by key \(proof.treeHead.keyid)" : "the tree head's signature does NOT verify"))
        return checks
    }

    static func parameters(_ list: InnerList) throws -> SignatureParameters {
        var components: [String] = []
        for item in list.bareInnerList {
            guard case .string(let name) = item.rfc9651BareItem else { throw VerifyError(message: "a covered component is not a string") }
            var text = "\"\(name)\""
            for (key, value) in item.rfc9651Parameters {
                if case .bool(true) = value { text += ";\(key)" }
            }
            components.append(text)
        }
        var parameters = SignatureParameters(components: components)
        for (key, value) in list.rfc9651Parameters {
            switch (key, value) {
            case ("created", .integer(let v)): parameters.created = v
            case ("keyid", .string(let v)): parameters.keyID = v
            case ("alg", .string(let v)): parameters.algorithm = v
            case ("tag", .string(let v)): parameters.tag = v
            default: break
            }
        }
        return parameters
    }

    struct VerifyError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
