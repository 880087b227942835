import Yams

/// Runs CRS's go-ftw regression tests against the engine in process: each test's request goes through phases
/// 1–5 (`/reflect` answers with the status, headers and body the test asks for, as CRS's test backend does) and the
/// logged rule ids are checked against `expect_ids` / `no_expect_ids`.
public struct FTWRunner {
    public struct Failure: Sendable {
        public var file: String
        public var ruleID: Int
        public var testID: Int
        public var reason: String
        /// Listed in the overrides file (with this reason): a known, explained difference.
        public var overridden: String?
    }

    public struct Report: Sendable {
        public var passed = 0
        public var failed = 0
        /// Failures listed in the overrides file (not counted in `failed`).
        public var overridden = 0
        public var perFile: [(file: String, passed: Int, failed: Int)] = []
        public var failures: [Failure] = []
        /// Passed over all tests run, overridden ones counted as not passed.
        public var percent: Double {
            let total = passed + failed + overridden
            return total == 0 ? 0 : Double(passed) * 100 / Double(total)
        }
    }

    let rules: RuleSet
    let overrides: [Int: [Int?: String]]

    public init(rules: RuleSet, overridesFile: String? = nil) throws {
        self.rules = rules
        var table: [Int: [Int?: String]] = [:]
        if let overridesFile, let text = readTextFile(overridesFile) {
            let parsed = try YAMLDecoder().decode(FTWOverrides.self, from: text)
            for entry in parsed.test_overrides ?? [] {
                if let ids = entry.test_ids {
                    for id in ids { table[entry.rule_id, default: [:]][id] = entry.reason }
                } else {
                    table[entry.rule_id, default: [:]][nil] = entry.reason
                }
            }
        }
        overrides = table
    }

    /// The conformance settings CRS's own CI uses (`tests/regression/README.md`), blocking paranoia level 4.
    public static let testSetup = """
        SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,ctl:ruleRemoveById=910000,\
        setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,\
        setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,\
        setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
        """

    /// Loads CRS from `rulesDirectory` (its `rules/*.conf` and `crs-setup.conf.example`) with Pnyx's base settings and
    /// the test setup.
    public static func loadCRS(_ directory: String) throws(SecLangError) -> RuleSet {
        var loader = RuleSetLoader()
        try loader.add(text: BaseRules.text, file: "<pnyx base rules>", directory: directory)
        let setup = ["\(directory)/crs-setup.conf.example", "\(directory)/crs-setup.conf"].first { readTextFile($0) != nil }
        if let setup { try loader.add(file: setup) }
        try loader.add(text: testSetup, file: "<ftw setup>", directory: directory)
        for path in RuleSetLoader.expand("\(directory)/rules/*.conf") { try loader.add(file: path) }
        return try loader.finish()
    }

    /// Runs every `*.yaml` under `testsDirectory` (recursively), or only the files whose name contains `filter`.
    public func run(testsDirectory: String, filter: String? = nil) throws -> Report {
        var report = Report()
        let files = Self.yamlFiles(under: testsDirectory).filter { filter == nil || $0.contains(filter!) }
        var perFile: [String: (Int, Int)] = [:]
        var order: [String] = []
        for path in files {
            guard let text = readTextFile(path) else { continue }
            // A file that is all comments (CRS keeps a few to satisfy its linter) has no tests.
            if (try? Yams.load(yaml: text)) == nil { continue }
            let file: FTWFile
            do {
                file = try YAMLDecoder().decode(FTWFile.self, from: text)
            } catch {
                report.failed += 1
                report.failures.append(Failure(file: path, ruleID: 0, testID: 0, reason: "cannot read test file: \(error)"))
                continue
            }
            let group = Self.groupName(path)
            if perFile[group] == nil { order.append(group) }
            let ruleID = file.rule_id ?? Int(Self.baseName(path).split(separator: ".").first ?? "") ?? 0
            for test in file.tests {
                var problem: String?
                for stage in test.stages {
                    if let reason = check(stage) {
                        problem = reason
                        break
                    }
                }
                var counts = perFile[group] ?? (0, 0)
                if let problem {
                    let reason = overrides[ruleID]?[test.test_id] ?? overrides[ruleID]?[nil]
                    report.failures.append(Failure(file: path, ruleID: ruleID, testID: test.test_id, reason: problem, overridden: reason))
                    if reason != nil {
                        report.overridden += 1
                    } else {
                        report.failed += 1
                        counts.1 += 1
                    }
                } else {
                    report.passed += 1
                    counts.0 += 1
                }
                perFile[group] = counts
            }
        }
        report.perFile = order.map { ($0, perFile[$0]!.0, perFile[$0]!.1) }
        return report
    }

    /// Runs one stage; nil if it behaved as the test expects, else why not.
    func check(_ stage: FTWStage) -> String? {
        let outcome = execute(stage.input)
        let output = stage.output
        if output.expect_error == true {
            return outcome.status == 400 ? nil : "expected the request to be refused as malformed"
        }
        if let status = output.status, output.log == nil, status != outcome.status {
            return "status \(outcome.status), expected \(status)"
        }
        let triggered = outcome.ids
        for id in output.log?.expect_ids ?? [] where !triggered.contains(id) {
            return "rule \(id) did not match (matched: \(triggered.sorted().map(String.init).joined(separator: ",")))"
        }
        for id in output.log?.no_expect_ids ?? [] where triggered.contains(id) {
            return "rule \(id) matched but should not"
        }
        return nil
    }

    struct Outcome {
        var status: Int
        var ids: Set<Int>
    }

    func execute(_ input: FTWInput) -> Outcome {
        let parsed: RawRequest
        if let encoded = input.encoded_request {
            let bytes = Decoders.base64Decode(Array(encoded.utf8).filter { $0 != 0x0A && $0 != 0x0D }, skipInvalid: true)
            guard let raw = RawRequest(parsing: bytes) else { return Outcome(status: 400, ids: []) }
            parsed = raw
        } else {
            var headers: [(name: String, value: String)] = (input.headers ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let body = Array((input.data ?? "").utf8)
            if input.autocomplete_headers ?? true {
                if !body.isEmpty, !headers.contains(where: { $0.name.lowercased() == "content-length" }) {
                    headers.append(("Content-Length", String(body.count)))
                }
                if !headers.contains(where: { $0.name.lowercased() == "connection" }) { headers.append(("Connection", "close")) }
                if !body.isEmpty, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    headers.append(("Content-Type", "application/x-www-form-urlencoded"))
                }
            }
            // Without Content-Length or Transfer-Encoding a server reads no body.
            let framed = headers.contains { ["content-length", "transfer-encoding"].contains($0.name.lowercased()) }
            parsed = RawRequest(method: input.method ?? "GET", target: input.uri ?? "/", version: input.version ?? "HTTP/1.1",
                                headers: headers, body: framed ? body : [])
        }
        if !parsed.wellFormed { return Outcome(status: 400, ids: []) }
        let request = WAFRequest(method: parsed.method, target: parsed.target, protocolVersion: parsed.version,
                                 headers: parsed.headers, uniqueID: "ftw")
        let transaction = Transaction(rules: rules, request: request)
        transaction.processRequestHeaders()
        transaction.processRequestBody(parsed.body)
        var status = 200
        var responseHeaders: [(name: String, value: String)] = [("Content-Type", "text/html")]
        var responseBody: [UInt8] = []
        if parsed.target.hasPrefix("/reflect") {
            var json = JSONArguments()
            _ = json.parse(parsed.body)
            for entry in json.arguments {
                if entry.name == "json.status" { status = Transaction.number(entry.value) }
                if entry.name == "json.body" { responseBody = entry.value }
                if entry.name.hasPrefix("json.headers.") {
                    let name = String(entry.name.dropFirst("json.headers.".count))
                    responseHeaders.removeAll { $0.name.lowercased() == name.lowercased() }
                    responseHeaders.append((name, String(decoding: entry.value, as: UTF8.self)))
                }
            }
        }
        transaction.processResponseHeaders(status: status, headers: responseHeaders)
        transaction.processResponseBody(responseBody)
        transaction.processLogging()
        let finalStatus = transaction.interruption?.status ?? status
        return Outcome(status: finalStatus, ids: Set(transaction.matches.map(\.id)))
    }

    static func yamlFiles(under directory: String) -> [String] {
        var found: [String] = []
        var pending = [directory]
        while let current = pending.popLast() {
            guard let handle = opendir(current) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let path = current + "/" + name
                if entry.pointee.d_type == UInt8(DT_DIR) {
                    pending.append(path)
                } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                    found.append(path)
                }
            }
        }
        return found.sorted()
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The rule file a test belongs to: its directory's name (`REQUEST-942-APPLICATION-ATTACK-SQLI`).
    static func groupName(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.count >= 2 ? String(parts[parts.count - 2]) : path
    }
}

/// A request as raw bytes (go-ftw's `encoded_request`), or as the test's fields, with Pnyx's front-end checks:
/// what the HTTP parser would refuse with 400 before the WAF sees it.
struct RawRequest {
    var method: String
    var target: String
    var version: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(method: String, target: String, version: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    init?(parsing bytes: [UInt8]) {
        guard let headEnd = Decoders.find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes) else { return nil }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard requestLine.count == 3 else { return nil }
        method = requestLine[0]
        target = requestLine[1]
        version = requestLine[2]
        headers = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingBlanks()))
        }
        var rest = Array(bytes[(headEnd + 4)...])
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked") }) {
            rest = Self.dechunk(rest) ?? rest
        }
        body = rest
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = Decoders.find([0x0D, 0x0A], in: bytes, from: index).map({ $0 - index }) else { return nil }
            let sizeText = String(decoding: bytes[index..<(index + lineEnd)], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else { return nil }
            index += lineEnd + 2
            if size == 0 { return out }
            guard index + size <= bytes.count else { return nil }
            out += bytes[index..<(index + size)]
            index += size + 2
        }
        return out
    }

    /// What Pnyx's front end accepts (it answers 400 to the rest before any filter runs, checked against a running
    /// Pnyx): HTTP/1.0 or 1.1, an origin-form target, a numeric Content-Length and not both Content-Length and
    /// Transfer-Encoding, header values without CR, LF or NUL, and a non-empty Host.
    var wellFormed: Bool {
        guard version == "HTTP/1.0" || version == "HTTP/1.1" else { return false }
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x28 && $0 != 0x29 }) else { return false }
        guard target.hasPrefix("/") || (target == "*" && method == "OPTIONS"), target.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F })
        else { return false }
        var hasLength = false, hasChunked = false
        for (name, value) in headers {
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) { return false }
            switch name.lowercased() {
            case "content-length":
                guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
                hasLength = true
            case "transfer-encoding": hasChunked = true
            case "host":
                if value.isEmpty { return false }
            default: break
            }
        }
        return !(hasLength && hasChunked)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
