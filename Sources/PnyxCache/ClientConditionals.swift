/// Answering a client's conditional and range requests from a stored response (RFC 9110 §13 and §14).
public enum ClientConditionals {
    /// Whether a GET or HEAD with these conditionals gets 304 Not Modified for a stored 200 with these validators.
    /// `If-None-Match` wins over `If-Modified-Since` (§13.2.2); entity tags compare weakly (§8.8.3.2).
    public static func notModified(
        ifNoneMatch: [String], ifModifiedSince: String?, etag: String?, lastModified: String?
    ) -> Bool {
        if !ifNoneMatch.isEmpty {
            guard let etag else { return false }
            let stored = weak(etag)
            for line in ifNoneMatch {
                for tag in line.split(separator: ",") {
                    let tag = tag.trimmingSpacesAndTabs
                    if tag == "*" || weak(tag) == stored { return true }
                }
            }
            return false
        }
        if let ifModifiedSince, let since = HTTPDate.parse(ifModifiedSince), let lastModified,
            let modified = HTTPDate.parse(lastModified)
        {
            return modified <= since
        }
        return false
    }

    static func weak(_ tag: some StringProtocol) -> Substring {
        let tag = Substring(tag)
        return tag.hasPrefix("W/") ? tag.dropFirst(2) : tag
    }

    /// A byte range of a stored body.
    public enum RangeAnswer: Equatable, Sendable {
        /// Serve the whole body (no range, an unsupported or multi-range request, or `If-Range` not matching).
        case whole
        /// Serve `lower...upper` with 206.
        case partial(lower: Int, upper: Int)
        /// 416 Range Not Satisfiable.
        case unsatisfiable
    }

    /// - Parameters:
    ///   - range: the `Range` field; only one `bytes=` range is honoured (several are answered with the whole body,
    ///     as §14.2 allows).
    ///   - ifRange: the `If-Range` field: the range applies only if it names the stored entity tag (strong) or
    ///     its exact `Last-Modified` date.
    public static func range(_ range: String?, ifRange: String?, length: Int, etag: String?, lastModified: String?) -> RangeAnswer {
        guard let range else { return .whole }
        if let ifRange {
            if ifRange.hasPrefix("\"") {
                guard let etag, !etag.hasPrefix("W/"), etag == ifRange else { return .whole }
            } else if ifRange != lastModified {
                return .whole
            }
        }
        let text = range.trimmingSpacesAndTabs
        guard text.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = text.dropFirst(6)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingSpacesAndTabs
        let last = parts[1].trimmingSpacesAndTabs
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let n = Int(last), n >= 0 else { return .whole }
            guard n > 0, length > 0 else { return .unsatisfiable }
            return .partial(lower: max(0, length - n), upper: length - 1)
        }
        guard let lower = Int(first), lower >= 0 else { return .whole }
        guard lower < length else { return .unsatisfiable }
        if last.isEmpty { return .partial(lower: lower, upper: length - 1) }
        guard let upper = Int(last), upper >= lower else { return .whole }
        return .partial(lower: lower, upper: min(upper, length - 1))
    }
}

extension StringProtocol {
    var trimmingSpacesAndTabs: Substring {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}
