/// The go-ftw YAML test format CRS's regression tests use (https://github.com/coreruleset/ftw-tests-schema).
struct FTWFile: Decodable {
    var rule_id: Int?
    var tests: [FTWTest]
}

struct FTWTest: Decodable {
    var test_id: Int
    var desc: String?
    var stages: [FTWStage]
}

struct FTWStage: Decodable {
    var input: FTWInput
    var output: FTWOutput
}

struct FTWInput: Decodable {
    var method: String?
    var uri: String?
    var version: String?
    var headers: [String: String]?
    var data: String?
    var encoded_request: String?
    var autocomplete_headers: Bool?
}

struct FTWOutput: Decodable {
    var status: Int?
    var log: FTWLog?
    var expect_error: Bool?
}

struct FTWLog: Decodable {
    var expect_ids: [Int]?
    var no_expect_ids: [Int]?
}

/// Tests known to differ, with the reason (Pnyx's overrides file, same shape as CRS's engine override files).
struct FTWOverrides: Decodable {
    struct Entry: Decodable {
        var rule_id: Int
        var test_ids: [Int]?
        var reason: String
    }
    var test_overrides: [Entry]?
}
