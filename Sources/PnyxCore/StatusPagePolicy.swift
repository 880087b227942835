/// A site's public status page (`status_page:`), opt-in: `/.well-known/pnyx/status` (JSON) and `/.pnyx/status`
/// (a page for voters and reporters) on the public listener.
public struct StatusPagePolicy: Sendable, Equatable {
    /// Where the results live: the page says when they were last updated from the origin.
    public var resultsPath = "/results"
    /// The name the page shows (default: the site's name).
    public var title: String?
    public init() {}
}
