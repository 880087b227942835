import Testing
@testable import PnyxWAF

/// What the engine's hot path shortcuts must not change: targets read through their plans, exclusion lists
/// filtering their own rules, the transformation trie and its shared bytes, and the regex length bound.
@Suite("WAF engine hot path: planned targets, exclusion lists, the transformation trie, the regex length bound")
struct WAFHotPathTests {
    @Test("a transformation that says it leaves a value unchanged does leave it unchanged")
    func leavesUnchanged() {
        let samples = [
            "", "plain", "Plain", "a b", " x ", "x ", "a%20b", "a+b", "&amp;", "\\x41", "ñ", "a\u{0}b", "/a/./b", "a//b",
            "/*c*/", "a--b", "#x", "a\tb", "C:\\x", "<!--", "x*y", "a;b,c", "O'Brien", "1234 Main St #5; Apt 2",
            "/api/polling-place", "..", "a/..", "select", "\u{a0}", "^x", "\"q\"",
        ]
        var unchanged = 0
        for transformation in Transformation.allCases {
            for sample in samples {
                let bytes = Array(sample.utf8)
                guard bytes.withUnsafeBytes({ transformation.leavesUnchanged($0) }) else { continue }
                unchanged += 1
                #expect(transformation.apply(bytes) == bytes, "\(transformation) changes \(sample.debugDescription)")
            }
        }
        // The check is not vacuous: benign values pass it, values each transformation changes do not.
        #expect(unchanged > 100)
        let said = { (transformation: Transformation, text: String) in
            Array(text.utf8).withUnsafeBytes { transformation.leavesUnchanged($0) }
        }
        #expect(said(.lowercase, "plain") && !said(.lowercase, "Plain"))
        #expect(said(.urlDecodeUni, "a b") && !said(.urlDecodeUni, "a+b") && !said(.urlDecodeUni, "a%20b"))
        #expect(said(.normalizePath, "/api/polling-place") && !said(.normalizePath, "a//b"))
        #expect(!said(.base64Decode, "plain"), "transformations without a check are always applied")
    }

    @Test("transformation lists that share their first steps each give their own result")
    func sharedPrefixes() throws {
        let rules = try WAFEngineTests.load("""
            SecRule ARGS "@streq a b" "id:1,phase:1,pass,log,t:urlDecodeUni"
            SecRule ARGS "@streq a b" "id:2,phase:1,pass,log,t:urlDecodeUni,t:lowercase"
            SecRule ARGS "@streq A B" "id:3,phase:1,pass,log,t:none,t:urlDecodeUni"
            SecRule ARGS "@streq xA" "id:4,phase:1,pass,log,t:lowercase,t:urlDecodeUni"
            SecRule ARGS "@streq x%41" "id:5,phase:1,pass,log,t:lowercase"
            SecRule ARGS "@streq xa" "id:6,phase:1,pass,log,t:lowercase,t:urlDecodeUni,t:lowercase"
            SecRule ARGS "@streq A%20B" "id:7,phase:1,pass,log"
            """)
        let first = WAFEngineTests.run(rules, target: "/?q=A%20B")
        // ARGS are URL-decoded once by the parser: q is "A B".
        #expect(Set(first.matches.map(\.id)) == [2, 3])
        // q is "x%41": lowercase leaves it as it is (its form shares the raw bytes), then urlDecodeUni gives "xA".
        let second = WAFEngineTests.run(rules, target: "/?q=x%2541")
        #expect(Set(second.matches.map(\.id)) == [4, 5, 6])
        #expect(second.matches.first { $0.id == 6 }?.value == "xa")
    }

    @Test("each exclusion list filters its own rule's collection, before and after the body is read")
    func exclusionLists() throws {
        let rules = try WAFEngineTests.load("""
            SecRequestBodyAccess On
            SecRule ARGS|!ARGS:password "@rx secret" "id:1,phase:1,pass,log"
            SecRule ARGS|!ARGS:/^pass/ "@rx secret" "id:2,phase:1,pass,log"
            SecRule ARGS "@rx secret" "id:3,phase:1,pass,log"
            SecRule REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/ "@rx secret" "id:4,phase:1,pass,log"
            SecRule ARGS|!ARGS:password "@rx secret" "id:11,phase:2,pass,log,multiMatch"
            SecRule ARGS|!ARGS:/^pass/|ARGS_NAMES "@rx secret" "id:12,phase:2,pass,log"
            """)
        let quiet = WAFEngineTests.run(rules, target: "/?password=secret&passphrase=secret", headers: [("Cookie", "__utmz=secret")])
        #expect(Set(quiet.matches.map(\.id)) == [1, 3, 11])
        #expect(quiet.matches.first { $0.id == 1 }?.variable == "ARGS:passphrase")
        let loud = WAFEngineTests.run(
            rules, method: "POST", target: "/?password=secret", headers: [
                ("Cookie", "__utmz=secret; other=secret"), ("Content-Type", "application/x-www-form-urlencoded"),
            ], body: "note=secret&secret_name=1")
        #expect(Set(loud.matches.map(\.id)) == [3, 4, 11, 12])
        #expect(loud.matches.first { $0.id == 4 }?.variable == "REQUEST_COOKIES:other")
        #expect(loud.matches.first { $0.id == 11 }?.variable == "ARGS:note")
        // The last value that matched is the one reported.
        #expect(loud.matches.first { $0.id == 12 }?.variable == "ARGS_NAMES:secret_name")
    }

    @Test("@rx: a value shorter than the pattern's shortest match does not match, and a negated rule matches it")
    func regexLengthBound() throws {
        #expect(try Regex("abcd").minimumLength == 4)
        #expect(try Regex("a|bc").minimumLength == 1)
        let rules = try WAFEngineTests.load("""
            SecRule ARGS "@rx abcd" "id:1,phase:1,pass,log"
            SecRule ARGS "!@rx abcd" "id:2,phase:1,pass,log"
            SecRule ARGS "@rx ^$" "id:3,phase:1,pass,log"
            """)
        #expect(Set(WAFEngineTests.run(rules, target: "/?q=ab").matches.map(\.id)) == [2])
        #expect(Set(WAFEngineTests.run(rules, target: "/?q=xabcdx").matches.map(\.id)) == [1])
        #expect(Set(WAFEngineTests.run(rules, target: "/?q=").matches.map(\.id)) == [2, 3])
    }

    @Test("SecArgumentsLimit: the rules see only the first arguments and the request is refused (400)")
    func argumentsLimit() throws {
        let rules = try WAFEngineTests.load(BaseRules.text + """

            SecArgumentsLimit 5
            SecRule &ARGS "@gt 5" "id:1,phase:2,pass,log"
            SecRule ARGS "@streq late" "id:2,phase:1,pass,log"
            """)
        #expect(rules.settings.argumentsLimit == 5)
        let fine = WAFEngineTests.run(rules, target: "/?a=1&b=2&c=3&d=4&e=late")
        #expect(fine.interruption == nil)
        #expect(fine.matches.map(\.id) == [2])
        // Six in the query: the sixth is never inspected, and the request is refused in phase 2.
        let many = WAFEngineTests.run(rules, target: "/?a=1&b=2&c=3&d=4&e=5&f=late")
        #expect(!many.matches.contains { $0.id == 1 || $0.id == 2 })
        #expect(many.interruption?.status == 400)
        #expect(many.interruption?.ruleID == 200002)
        // Split between the query and a URL-encoded body.
        let split = WAFEngineTests.run(
            rules, method: "POST", target: "/?a=1&b=2", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "c=3&d=4&e=5&f=6")
        #expect(split.interruption?.status == 400)
        #expect(split.matches.contains { $0.id == 200002 && $0.data.contains("too many arguments") })
        #expect(try WAFEngineTests.load(BaseRules.text).settings.argumentsLimit == 1000)
    }

    @Test("a capture sets TX:0…TX:9 to its groups and removes the rest, including keys a setvar wrote")
    func captureKeys() throws {
        let rules = try WAFEngineTests.load("""
            SecRule ARGS:a "@rx ^(x)(y)(z)$" "id:1,phase:1,pass,capture,setvar:tx.abc=%{tx.1}%{tx.2}%{tx.3}"
            SecAction "id:2,phase:1,pass,setvar:tx.5=five"
            SecRule ARGS:b "@rx ^(q)$" "id:3,phase:1,pass,capture"
            SecRule TX:0 "@streq q" "id:4,phase:1,pass,log"
            SecRule TX:1 "@streq q" "id:5,phase:1,pass,log"
            SecRule &TX:2 "@eq 0" "id:6,phase:1,pass,log"
            SecRule &TX:3 "@eq 0" "id:7,phase:1,pass,log"
            SecRule &TX:5 "@eq 0" "id:8,phase:1,pass,log"
            SecRule TX:abc "@streq xyz" "id:9,phase:1,pass,log"
            """)
        let result = WAFEngineTests.run(rules, target: "/?a=xyz&b=q")
        // The second capture (one group) replaced TX:0 and TX:1 and removed TX:2, TX:3 and the setvar's TX:5.
        #expect(Set(result.matches.map(\.id)) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        // Without the second capture, the setvar's TX:5 and the first capture's TX:2 stay.
        let first = WAFEngineTests.run(rules, target: "/?a=xyz")
        #expect(Set(first.matches.map(\.id)) == [1, 2, 9])
    }

    @Test("@pm's quick scan gives the automaton's answer: random phrase lists and texts, upper and lower case")
    func phraseScan() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcAB <>/.".utf8)
        func random(_ length: Int) -> [UInt8] {
            (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        }
        var found = 0, absent = 0
        for round in 0..<300 {
            // Some lists have a one-byte phrase (the scan then defers to the automaton).
            let shortest = round % 5 == 0 ? 1 : 2
            let phrases = (0..<(1 + round % 7)).map { _ in
                String(decoding: random(shortest + Int(generator.next() % 5)), as: UTF8.self)
            }
            let matcher = PhraseMatcher(phrases: phrases)
            for _ in 0..<20 {
                let text = random(Int(generator.next() % 40))
                let expected = matcher.firstMatch(in: text) != nil
                let answer = text.withUnsafeBytes { matcher.contains(in: $0) }
                #expect(answer == expected, "phrases \(phrases), text \(String(decoding: text, as: UTF8.self))")
                if expected { found += 1 } else { absent += 1 }
            }
        }
        #expect(found > 500 && absent > 500, "both answers are exercised (\(found) found, \(absent) absent)")
        let errors = PhraseMatcher(phrases: ["<b>Warning</b>", "Fatal error", "SQL syntax"])
        let page = Array("<html><p>No warning here, a fatal flaw at most.</p><P>You have an error in your SQL SYNTAX</p>".utf8)
        #expect(page.withUnsafeBytes { errors.contains(in: $0) })
        #expect(!Array("<b>Warn</b> fatal err".utf8).withUnsafeBytes { errors.contains(in: $0) })
    }
}
