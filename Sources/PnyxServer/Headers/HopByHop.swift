import NIOHTTP1

/// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
enum HopByHop {
    /// Always hop-by-hop, whether or not `Connection` names them.
    static let fixed: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Removes the fixed hop-by-hop headers and every header named in `Connection`.
    static func strip(_ headers: inout HTTPHeaders) {
        var named: [Substring] = []
        for (name, value) in headers where name.utf8.count == 10 && name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                let trimmed = token.trimmingSpaces()
                if !trimmed.isEmpty { named.append(trimmed) }
            }
        }
        // Fast path: check whether any hop-by-hop header is present before rebuilding.
        var needsStrip = !named.isEmpty
        if !needsStrip {
            for (name, _) in headers where isFixed(name) {
                needsStrip = true
                break
            }
        }
        guard needsStrip else { return }
        for name in fixed { headers.remove(name: name) }
        for name in named { headers.remove(name: String(name)) }
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
