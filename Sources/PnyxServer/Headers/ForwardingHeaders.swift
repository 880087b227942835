import NIOHTTP1
import PnyxCore

/// Builds the header list sent to the origin in one pass over the client's headers: hop-by-hop headers
/// (RFC 9110 §7.6.1, and every header named in `Connection`) are dropped, `Expect` is answered by Pnyx, and
/// the headers telling the origin who asked are set: `X-Forwarded-For`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host`, `Forwarded` (RFC 7239), `Via` and `X-Request-ID`.
///
/// What a trusted proxy in front of Pnyx said is kept and extended; anything a client sent directly is replaced.
enum ForwardingHeaders {
    struct Result {
        var headers: HeaderBlock
        var expectsContinue: Bool
        /// The body goes to the origin with chunked framing (`Transfer-Encoding: chunked` was written).
        var chunked: Bool
    }

    enum Kind {
        case keep, hopByHop, connection, expect, transferEncoding, contentLength
        case xForwardedFor, forwarded, xForwardedProto, xForwardedHost, requestID, via
    }

    /// Writes the origin's header lines straight into one buffer: kept fields as the client sent them, then
    /// the forwarding fields. No `String` is made except when a trusted proxy's values are extended.
    static func build(
        from incoming: HTTPHeaders, client: ClientIdentity, peerText: String, scheme: String, host: String,
        requestID: RequestID, httpVersion: HTTPVersion, forwardedElement element: String? = nil,
        hostOverride: String? = nil, recycling recycled: inout RecycledBuffer
    ) -> Result {
        // Names listed in Connection are hop-by-hop too.
        var connectionNamed: [Substring] = []
        var size = 0
        for (name, value) in incoming {
            size += name.utf8.count + value.utf8.count + 4
            guard kind(of: name) == .connection else { continue }
            for token in value.split(separator: ",") {
                let t = token.trimmingSpaces()
                if !t.isEmpty && !equalsIgnoringCase(t, "close") && !equalsIgnoringCase(t, "keep-alive") {
                    connectionNamed.append(t)
                }
            }
        }
        let trusted = client.peer != nil && client.peerIsTrustedProxy
        var out = HeaderBlock(
            validatedBytes: recycled.take(minimumCapacity: size + 256 + 2 * host.utf8.count + 2 * peerText.utf8.count))
        var expectsContinue = false
        var chunked = false
        var hasContentLength = false
        var xff: String?
        var forwarded: String?
        var via: String?
        var keptProto = false, keptHost = false, keptRequestID = false

        for (name, value) in incoming {
            let k = kind(of: name)
            switch k {
            case .keep:
                if !connectionNamed.isEmpty && connectionNamed.contains(where: { equalsIgnoringCase(Substring(name), $0) }) {
                    continue
                }
                if hostOverride != nil && equalsIgnoringCase(Substring(name), "host") { continue }
                out.add(name: name, value: value)
            case .hopByHop, .connection:
                continue
            case .transferEncoding:
                if value.utf8.count >= 7 && value.lowercased().contains("chunked") { chunked = true }
            case .contentLength:
                hasContentLength = true
                out.add(name: name, value: value)
            case .expect:
                if equalsIgnoringCase(Substring(value).trimmingSpaces(), "100-continue") { expectsContinue = true }
            case .xForwardedFor:
                if trusted { xff = xff.map { "\($0), \(value)" } ?? value }
            case .forwarded:
                if trusted { forwarded = forwarded.map { "\($0), \(value)" } ?? value }
            case .via:
                via = via.map { "\($0), \(value)" } ?? value
            case .xForwardedProto:
                if trusted { keptProto = true; out.add(name: name, value: value) }
            case .xForwardedHost:
                if trusted { keptHost = true; out.add(name: name, value: value) }
            case .requestID:
                if trusted { keptRequestID = true; out.add(name: name, value: value) }
            }
        }
        if let hostOverride { out.add(name: "host", value: hostOverride) }
        if chunked && !hasContentLength { out.add(literalName: "transfer-encoding", literalValue: "chunked") }
        if let xff {
            out.add(name: "x-forwarded-for", prefix: xff, value: peerText)
        } else {
            out.add(literalName: "x-forwarded-for", value: peerText)
        }
        let element = element ?? forwardedElement(peerText: peerText, peer: client.peer, scheme: scheme, host: host)
        if let forwarded {
            out.add(name: "forwarded", prefix: forwarded, value: element)
        } else {
            out.add(literalName: "forwarded", value: element)
        }
        if !keptProto { out.add(literalName: "x-forwarded-proto", value: scheme) }
        if !keptHost { out.add(literalName: "x-forwarded-host", value: host) }
        if !keptRequestID { out.add(literalName: "x-request-id", hex: requestID.value) }
        let ourVia: StaticString = httpVersion.major == 2 ? "2 pnyx" : (httpVersion.minor == 0 ? "1.0 pnyx" : "1.1 pnyx")
        if let via {
            out.add(name: "via", prefix: via, value: ourVia.description)
        } else {
            out.add(literalName: "via", literalValue: ourVia)
        }
        return Result(headers: out, expectsContinue: expectsContinue, chunked: chunked && !hasContentLength)
    }

    /// `build` with a fresh buffer (tests, rare paths).
    static func build(
        from incoming: HTTPHeaders, client: ClientIdentity, peerText: String, scheme: String, host: String,
        requestID: RequestID, httpVersion: HTTPVersion, forwardedElement element: String? = nil,
        hostOverride: String? = nil
    ) -> Result {
        var recycled = RecycledBuffer()
        return build(
            from: incoming, client: client, peerText: peerText, scheme: scheme, host: host, requestID: requestID,
            httpVersion: httpVersion, forwardedElement: element, hostOverride: hostOverride, recycling: &recycled)
    }

    @inline(__always)
    static func kind(of name: String) -> Kind {
        switch name.utf8.count {
        case 2: return equalsIgnoringCase(Substring(name), "te") ? .hopByHop : .keep
        case 3: return equalsIgnoringCase(Substring(name), "via") ? .via : .keep
        case 6: return equalsIgnoringCase(Substring(name), "expect") ? .expect : .keep
        case 7:
            return equalsIgnoringCase(Substring(name), "trailer") || equalsIgnoringCase(Substring(name), "upgrade")
                ? .hopByHop : .keep
        case 9: return equalsIgnoringCase(Substring(name), "forwarded") ? .forwarded : .keep
        case 10:
            if equalsIgnoringCase(Substring(name), "connection") { return .connection }
            return equalsIgnoringCase(Substring(name), "keep-alive") ? .hopByHop : .keep
        case 12: return equalsIgnoringCase(Substring(name), "x-request-id") ? .requestID : .keep
        case 14: return equalsIgnoringCase(Substring(name), "content-length") ? .contentLength : .keep
        case 15: return equalsIgnoringCase(Substring(name), "x-forwarded-for") ? .xForwardedFor : .keep
        case 16:
            if equalsIgnoringCase(Substring(name), "proxy-connection") { return .hopByHop }
            return equalsIgnoringCase(Substring(name), "x-forwarded-host") ? .xForwardedHost : .keep
        case 17:
            if equalsIgnoringCase(Substring(name), "transfer-encoding") { return .transferEncoding }
            return equalsIgnoringCase(Substring(name), "x-forwarded-proto") ? .xForwardedProto : .keep
        case 18: return equalsIgnoringCase(Substring(name), "proxy-authenticate") ? .hopByHop : .keep
        case 19: return equalsIgnoringCase(Substring(name), "proxy-authorization") ? .hopByHop : .keep
        default: return .keep
        }
    }

    /// ASCII case-insensitive comparison without allocating.
    @inline(__always)
    static func equalsIgnoringCase(_ a: Substring, _ b: String) -> Bool {
        var a = a
        var b = b
        guard a.utf8.count == b.utf8.count else { return false }
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                for i in 0..<pa.count {
                    let x = pa[i], y = pb[i]
                    if x != y && (x | 0x20) != (y | 0x20) { return false }
                    if x != y && !((x | 0x20) >= 97 && (x | 0x20) <= 122) { return false }
                }
                return true
            }
        }
    }

    /// For the rare comparisons of two parsed tokens.
    static func equalsIgnoringCase(_ a: Substring, _ b: Substring) -> Bool {
        equalsIgnoringCase(a, String(b))
    }

    static func forwardedElement(peerText: String, peer: IPAddress?, scheme: String, host: String) -> String {
        let node: String
        if let peer {
            node = peer.isIPv4 ? peerText : "\"[\(peerText)]\""
        } else {
            node = "unknown"
        }
        return host.isEmpty ? "for=\(node);proto=\(scheme)" : "for=\(node);proto=\(scheme);host=\"\(host)\""
    }
}
