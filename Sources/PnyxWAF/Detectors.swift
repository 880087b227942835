/// Native SQL-injection detection for `@detectSQLi` (and Pnyx's own scoring engine).
enum SQLInjectionDetector {
    /// The fingerprint of the injection found, or nil.
    static func detect(_ input: [UInt8]) -> String? {
        nil
    }
}

/// Native XSS detection for `@detectXSS`.
enum XSSDetector {
    static func detect(_ input: [UInt8]) -> Bool {
        false
    }
}
