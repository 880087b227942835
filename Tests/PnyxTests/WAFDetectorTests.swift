import Testing
@testable import PnyxWAF

/// The native detectors behind @detectSQLi and @detectXSS: attacks found, ordinary voter input left alone.
@Suite("WAF native detectors: SQL injection and XSS")
struct WAFDetectorTests {
    static let sqlAttacks = [
        "1234 OR 1=1", "-1839' or '1'='1", "-1839\" or \"1\"=\"2", "2010-01-01'+sleep(20.to_i)+'",
        "EmptyValue' and 526=527", "foo') UNION ALL select NULL --", "foo')waitfor delay'5:0:20'--",
        "x' and sleep(12) --", "sleep(20)", "' OR 1=1--", "admin'--", "1; DROP TABLE voters", "1 union select 1,2",
        "' union select password from users--", "1/**/or/**/1=1", "(select @@version)", "1) or (1=1",
        "' or benchmark(1000000,md5(1))#", "\"unittests@coreruleset.org\"')) and (select*from(select(sleep(5)))x) --",
    ]
    static let sqlBenign = [
        "O'Brien", "Siobhan O'Brien", "Nuñez", "D'Angelo-Smith", "12 Main St #4; Apt 2", "I want to select a union rep",
        "Please drop me from the list", "Tom and Jerry", "rock 'n' roll", "don't select or drop anything",
        "McDonald's and Smith's", "1 or 2 people", "She said \"hello\" or so", "2024-11-05", "555-0100",
        "john.doe@example.com", "Order by phone", "update my address", "(select one) of the options",
        "Is it 5' or 6'?", "select", "union", "or", "1=1 is true", "The Union Select Committee", "it's 3 o'clock",
    ]

    @Test("SQL injection payloads are found")
    func sqlAttacksFound() {
        for payload in Self.sqlAttacks {
            #expect(SQLInjectionDetector.detect(Array(payload.utf8)) != nil, "missed: \(payload)")
        }
    }

    @Test("names, addresses and free text are not SQL injection")
    func sqlBenignPasses() {
        for text in Self.sqlBenign {
            #expect(SQLInjectionDetector.detect(Array(text.utf8)) == nil, "false positive: \(text) \(SQLInjectionDetector.detect(Array(text.utf8)) ?? "")")
        }
    }

    @Test("XSS payloads are found; ordinary text with quotes and angle brackets is not")
    func xss() {
        let attacks = [
            "<script>alert(1)</script>", "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>",
            "<xss onbeforehellfreezes=alert(1)>", "\"onmouseover='prompt(document.cookie)'\"", "<svg/onload=alert()",
            "<img src=x onerror=alert(1)>", "<a href=\"javascript:alert(1)\">x</a>", "<iframe src=//evil>",
            "<a href=\"&#106;avascript:alert(1)\">", "' onfocus='alert(1)' autofocus='", "javascript:alert(1)",
        ]
        for payload in attacks {
            #expect(XSSDetector.detect(Array(payload.utf8)), "missed: \(payload)")
        }
        let benign = [
            "O'Brien", "a < b and c > d", "I <3 voting", "She said \"on time\"", "5 > 3", "<b>bold</b> text",
            "Click \"online\" to register", "x<y", "See <https://example.gov>", "once=twice", "\"one\" = 'two'",
        ]
        for text in benign {
            #expect(!XSSDetector.detect(Array(text.utf8)), "false positive: \(text)")
        }
    }
}
