import NIOHTTP1
import PnyxCore

/// Writes the headers an origin needs to know who asked: `X-Forwarded-For`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host`, `Forwarded` (RFC 7239), `Via` and `X-Request-ID`.
///
/// What a trusted proxy in front of Pnyx said is kept and extended; anything a client sent directly is replaced.
enum ForwardingHeaders {
    static func apply(
        to headers: inout HTTPHeaders, client: ClientIdentity, scheme: String, host: String, requestID: RequestID,
        httpVersion: HTTPVersion
    ) {
        let peerText = client.peer?.description ?? "unknown"
        if client.peer != nil, client.peerIsTrustedProxy {
            let previous = headers["x-forwarded-for"].joined(separator: ", ")
            headers.replaceOrAdd(name: "x-forwarded-for", value: previous.isEmpty ? peerText : "\(previous), \(peerText)")
            let previousForwarded = headers["forwarded"].joined(separator: ", ")
            let element = forwardedElement(for: client.peer, scheme: scheme, host: host)
            headers.replaceOrAdd(name: "forwarded", value: previousForwarded.isEmpty ? element : "\(previousForwarded), \(element)")
            if headers["x-forwarded-proto"].isEmpty { headers.add(name: "x-forwarded-proto", value: scheme) }
            if headers["x-forwarded-host"].isEmpty { headers.add(name: "x-forwarded-host", value: host) }
            if headers["x-request-id"].isEmpty { headers.add(name: "x-request-id", value: requestID.description) }
        } else {
            headers.replaceOrAdd(name: "x-forwarded-for", value: peerText)
            headers.replaceOrAdd(name: "forwarded", value: forwardedElement(for: client.peer, scheme: scheme, host: host))
            headers.replaceOrAdd(name: "x-forwarded-proto", value: scheme)
            headers.replaceOrAdd(name: "x-forwarded-host", value: host)
            headers.replaceOrAdd(name: "x-request-id", value: requestID.description)
        }
        let via = "\(httpVersion.major).\(httpVersion.minor) pnyx"
        let previousVia = headers["via"].joined(separator: ", ")
        headers.replaceOrAdd(name: "via", value: previousVia.isEmpty ? via : "\(previousVia), \(via)")
    }

    static func forwardedElement(for peer: IPAddress?, scheme: String, host: String) -> String {
        let node: String
        if let peer {
            node = peer.isIPv4 ? peer.description : "\"[\(peer.description)]\""
        } else {
            node = "unknown"
        }
        let hostPart = host.isEmpty ? "" : ";host=\"\(host)\""
        return "for=\(node);proto=\(scheme)\(hostPart)"
    }
}
