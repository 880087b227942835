/// `engine: native`: Pnyx's own detectors score the request on their own, without CRS. The request's arguments
/// (names and values, query and body), cookies, path and XML text are decoded once more (URL, HTML entities) and
/// checked for SQL injection, XSS, command injection and path traversal; the first finding refuses the request.
enum NativeEngine {
    struct Finding {
        var detector: String
        var variable: String
        var value: [UInt8]
    }

    static func find(_ transaction: Transaction) -> Finding? {
        var finding: Finding?
        func check(_ label: String, _ raw: [UInt8], path: Bool = false) {
            guard finding == nil, !raw.isEmpty else { return }
            let decoded = Transformation.htmlEntityDecode.apply(Transformation.urlDecodeUni.apply(raw))
            if !path, let _ = SQLInjectionDetector.detect(decoded) {
                finding = Finding(detector: "sqli", variable: label, value: decoded)
            } else if XSSDetector.detect(decoded) {
                finding = Finding(detector: "xss", variable: label, value: decoded)
            } else if !path, CommandInjectionDetector.detect(decoded) {
                finding = Finding(detector: "command_injection", variable: label, value: decoded)
            } else if PathTraversalDetector.detect(decoded) {
                finding = Finding(detector: "path_traversal", variable: label, value: decoded)
            }
        }
        for entry in transaction.argsGet + transaction.argsPost {
            check("ARGS:" + entry.name, entry.value)
            check("ARGS_NAMES:" + entry.name, Array(entry.name.utf8))
        }
        for entry in transaction.cookies { check("REQUEST_COOKIES:" + entry.name, entry.value) }
        check("REQUEST_FILENAME", transaction.requestFilename, path: true)
        if let xml = transaction.xmlText { check("XML", xml) }
        for attribute in transaction.xmlAttributes { check("XML:" + attribute.name, attribute.value) }
        return finding
    }
}
