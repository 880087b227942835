/// One problem in a configuration file, with where it is.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// Dotted path of the key, e.g. `sites[0].origins[1]`.
    public var key: String
    public var message: String

    public init(file: String, line: Int, column: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        let at = key.isEmpty ? "" : " \(key):"
        return "\(file):\(line):\(column):\(at) \(message)"
    }
}

/// Every problem found in a configuration file. A file with any problem is refused whole.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
