extension WAFPolicy.Exclusion {
    /// One line, as the control plane stores exclusions added from the dashboard or API:
    /// `rules=942100,942100-942199 tags=attack-sqli path=/search arguments=q,comment` (rules or tags required).
    public var line: String {
        var parts: [String] = []
        if !ruleIDs.isEmpty {
            parts.append("rules=" + ruleIDs.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))
        }
        if !tags.isEmpty { parts.append("tags=" + tags.joined(separator: ",")) }
        if let pathPrefix { parts.append("path=" + pathPrefix) }
        if !arguments.isEmpty { parts.append("arguments=" + arguments.joined(separator: ",")) }
        return parts.joined(separator: " ")
    }

    /// Reads ``line``; nil for anything malformed (unknown key, bad id, a path not starting with '/', nothing
    /// excluded, characters that do not belong in a name).
    public init?(line: String) {
        self.init()
        for part in line.split(separator: " ", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, !pair[1].isEmpty else { return nil }
            let values = pair[1].split(separator: ",").map(String.init)
            guard values.allSatisfy({ value in !value.isEmpty && !value.contains { $0 == "|" || $0 == "\"" || $0 == ";" || $0.isNewline } }) else {
                return nil
            }
            switch pair[0] {
            case "rules":
                for value in values {
                    let bounds = value.split(separator: "-").map { Int($0) }
                    guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low > 0, low <= high else {
                        return nil
                    }
                    ruleIDs.append(low...high)
                }
            case "tags": tags = values
            case "path":
                guard pair[1].hasPrefix("/") else { return nil }
                pathPrefix = String(pair[1])
            case "arguments": arguments = values
            default: return nil
            }
        }
        if ruleIDs.isEmpty && tags.isEmpty { return nil }
    }
}
