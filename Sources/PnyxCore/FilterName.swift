/// The name of a pipeline filter, as it appears in logs, events and metrics labels.
public struct FilterName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// Decisions taken by the proxy core itself (unknown host, malformed request, origin errors).
    public static let core: FilterName = "core"
}
