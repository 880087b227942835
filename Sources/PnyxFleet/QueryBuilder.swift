import PostgresNIO

/// SQL with numbered parameters (`$1`, `$2`, …) built clause by clause, for queries whose filters vary.
struct QueryBuilder {
    private(set) var sql: String
    private var binds = PostgresBindings()
    private var count = 0

    init(_ sql: String) { self.sql = sql }

    /// The next parameter's placeholder, bound to `value`.
    mutating func bind(_ value: some PostgresNonThrowingEncodable & Sendable) -> String {
        binds.append(value)
        count += 1
        return "$\(count)"
    }

    mutating func append(_ text: String) { sql += text }

    /// `AND site = ANY($n) AND time_ms >= $n AND time_ms < $n` for a site list and time range.
    mutating func scope(sites: [String]?, from: Int64?, to: Int64?, timeColumn: String = "time_ms") {
        if let sites { append(" AND site = ANY(\(bind(sites)))") }
        if let from { append(" AND \(timeColumn) >= \(bind(from))") }
        if let to { append(" AND \(timeColumn) < \(bind(to))") }
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}
