import PnyxCore
import Yams

/// A site's `status_page`.
extension ConfigSchema {
    static let statusPageKeys = ["results_path", "title"]

    /// `status_page: on`, `off`, or `{ results_path: /results, title: "Clearwater County Elections" }`.
    func statusPage(_ node: Node, path: String) -> StatusPagePolicy? {
        if case .scalar(let scalar) = node, ["on", "true", "yes"].contains(scalar.string.lowercased()) { return StatusPagePolicy() }
        let section = offOrMap(node, path: path, example: "{ results_path: /results }")
        guard section.enabled, let map = section.map else { return nil }
        defer { map.finish(allowed: Self.statusPageKeys) }
        var policy = StatusPagePolicy()
        if let p = map.string("results_path") {
            if p.hasPrefix("/") {
                policy.resultsPath = p
            } else {
                diagnostics.error("expected a path starting with '/', got '\(p)'", at: map.value("results_path"), key: "\(path).results_path")
            }
        }
        if let title = map.string("title") { policy.title = title }
        return policy
    }
}
