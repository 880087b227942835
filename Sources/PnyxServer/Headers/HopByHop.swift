import NIOHTTP1

/// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
enum HopByHop {
    /// Always hop-by-hop, whether or not `Connection` names them.
    static let fixed: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Removes the fixed hop-by-hop headers and every header named in `Connection`, in one pass; the header
    /// list is rebuilt only when something has to go.
    static func strip(_ headers: inout HTTPHeaders) {
        // Usually only `Connection` (and maybe `Keep-Alive`) is present: remove exactly what is there.
        var present: [String] = []
        for (name, value) in headers {
            switch ForwardingHeaders.kind(of: name) {
            case .connection:
                present.append(name)
                for token in value.split(separator: ",") {
                    let trimmed = token.trimmingSpaces()
                    if !trimmed.isEmpty && !ForwardingHeaders.equalsIgnoringCase(trimmed, "close")
                        && !ForwardingHeaders.equalsIgnoringCase(trimmed, "keep-alive")
                    {
                        present.append(String(trimmed))
                    }
                }
            case .hopByHop, .transferEncoding:
                present.append(name)
            default:
                break
            }
        }
        for name in present { headers.remove(name: name) }
    }

    @inline(__always)
    static func isFixed(_ name: String) -> Bool {
        let count = name.utf8.count
        // Lengths of the fixed names: 2 (te), 7 (trailer, upgrade), 10 (connection, keep-alive),
        // 16 (proxy-connection), 17 (transfer-encoding), 18 (proxy-authenticate), 19 (proxy-authorization).
        switch count {
        case 2, 7, 10, 16, 17, 18, 19: return fixed.contains(name.lowercased())
        default: return false
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
