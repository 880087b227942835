import Testing
@testable import PnyxWAF

/// The SecLang engine on small rule sets written here: parsing, errors with file and line, variables, operators,
/// transformations, chains, flow and per-transaction controls.
@Suite("WAF engine: SecLang parsing, rules, transformations, body processors")
struct WAFEngineTests {
    static func load(_ text: String) throws(SecLangError) -> RuleSet {
        var loader = RuleSetLoader()
        try loader.add(text: text, file: "test.conf", directory: ".")
        return try loader.finish()
    }

    static func run(_ rules: RuleSet, method: String = "GET", target: String, headers: [(String, String)] = [],
                    body: String = "") -> Transaction {
        let request = WAFRequest(method: method, target: target, headers: [("Host", "vote.test")] + headers.map { (name: $0.0, value: $0.1) })
        let transaction = Transaction(rules: rules, request: request)
        transaction.processRequestHeaders()
        transaction.processRequestBody(Array(body.utf8))
        return transaction
    }

    @Test("directives: continuation lines, quotes, comments; actions with quoted commas")
    func parsing() throws {
        let directives = try SecLangParser.parse(
            "# comment\nSecRule ARGS \"@rx a\\\"b\" \\\n    \"id:1,\\\n    msg:'one, two',pass\"\n\nSecMarker END\n", file: "f.conf")
        #expect(directives.count == 2)
        #expect(directives[0].name == "SecRule")
        #expect(directives[0].arguments == ["ARGS", "@rx a\"b", "id:1,    msg:'one, two',pass"])
        #expect(directives[0].location.line == 2)
        #expect(directives[1].location.line == 6)
        let actions = try ActionListParser.parse(directives[0].arguments[2], location: directives[0].location)
        #expect(actions == [RawAction(name: "id", value: "1"), RawAction(name: "msg", value: "one, two"), RawAction(name: "pass", value: nil)])
    }

    @Test("bad rules are refused with the file and line: unknown directive, operator, action, variable, bad regex, duplicate id")
    func loadErrors() {
        let cases: [(String, String)] = [
            ("SecFrobnicate On", "unknown directive SecFrobnicate"),
            ("\n\nSecRule ARGS \"@frob x\" \"id:1,pass\"", "unknown operator @frob"),
            ("SecRule ARGS \"@rx x\" \"id:1,frob\"", "unknown action frob"),
            ("SecRule NOPE \"@rx x\" \"id:1,pass\"", "unknown variable NOPE"),
            ("SecRule ARGS \"@rx (\" \"id:1,pass\"", "bad regular expression"),
            ("SecRule ARGS \"@rx a\" \"id:1,pass\"\nSecRule ARGS \"@rx b\" \"id:1,pass\"", "already used"),
            ("SecRule ARGS \"@rx a\" \"id:1,pass,chain\"", "ends with chain"),
        ]
        for (text, message) in cases {
            do throws(SecLangError) {
                _ = try Self.load(text)
                Issue.record("loaded: \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
                #expect(error.description.hasPrefix("test.conf:"), "\(error)")
            }
        }
        do throws(SecLangError) {
            _ = try Self.load("\n\nSecRule ARGS \"@frob x\" \"id:1,pass\"")
        } catch {
            #expect(error.location.line == 3)
        }
    }

    @Test("variables: selectors, regex selectors, exclusions, counts; ARGS from query and urlencoded body")
    func variables() throws {
        let rules = try Self.load("""
            SecRequestBodyAccess On
            SecRule ARGS:id "@streq 7" "id:1,phase:2,pass,log"
            SecRule ARGS:/^user_/ "@contains x" "id:2,phase:2,pass,log"
            SecRule ARGS|!ARGS:safe "@contains evil" "id:3,phase:2,pass,log"
            SecRule &ARGS "@eq 4" "id:4,phase:2,pass,log"
            SecRule REQUEST_HEADERS:User-Agent "@beginsWith curl" "id:5,phase:1,pass,log"
            SecRule REQUEST_COOKIES:session "@streq abc" "id:6,phase:1,pass,log"
            SecRule REQUEST_FILENAME "@streq /a/b.php" "id:7,phase:1,pass,log"
            SecRule REQUEST_BASENAME "@streq b.php" "id:8,phase:1,pass,log"
            SecRule ARGS_NAMES "@streq user_name" "id:9,phase:2,pass,log"
            """)
        let transaction = Self.run(
            rules, method: "POST", target: "/a/b.php?id=7&safe=evil",
            headers: [("User-Agent", "curl/8"), ("Cookie", "session=abc; other=1"),
                      ("Content-Type", "application/x-www-form-urlencoded")],
            body: "user_name=xavier&note=evil+plan")
        #expect(Set(transaction.matches.map(\.id)) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let evil = transaction.matches.first { $0.id == 3 }
        #expect(evil?.variable == "ARGS:note")
    }

    @Test("chains, setvar with macros, capture, skipAfter, anomaly scoring and deny with status")
    func flow() throws {
        let rules = try Self.load("""
            SecRuleEngine On
            SecDefaultAction "phase:2,log,pass"
            SecAction "id:10,phase:1,pass,nolog,setvar:tx.threshold=5"
            SecRule ARGS "@rx (union)\\s+(select)" "id:11,phase:2,block,capture,t:lowercase,setvar:'tx.score=+5',setvar:'tx.word=%{tx.2}',chain"
                SecRule TX:1 "@streq union" "setvar:tx.chained=1"
            SecRule TX:word "!@streq select" "id:12,phase:2,pass,skipAfter:END"
            SecRule ARGS "@rx ." "id:13,phase:2,pass,log"
            SecMarker END
            SecRule TX:score "@ge %{tx.threshold}" "id:14,phase:2,deny,status:406,msg:'score %{tx.score}'"
            """)
        let transaction = Self.run(rules, target: "/?q=1+UNION+Select+2")
        #expect(transaction.matches.map(\.id) == [11, 13, 14])
        #expect(transaction.txValue("chained") == "1")
        #expect(transaction.txValue("word") == "select")
        #expect(transaction.interruption == Interruption(action: .deny, status: 406, ruleID: 14))
        #expect(transaction.matches.last?.message == "score 5")

        let clean = Self.run(rules, target: "/?q=hello")
        #expect(clean.interruption == nil)
        #expect(clean.matches.map(\.id) == [13])
    }

    @Test("ctl: removing a rule or a target for this request only; DetectionOnly never interrupts")
    func controls() throws {
        let text = """
            SecRuleEngine On
            SecRule REQUEST_FILENAME "@beginsWith /search" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=3;ARGS:q"
            SecRule REQUEST_FILENAME "@beginsWith /admin" "id:2,phase:1,pass,nolog,ctl:ruleRemoveById=3"
            SecRule ARGS "@contains drop" "id:3,phase:2,deny"
            """
        let rules = try Self.load(text)
        #expect(Self.run(rules, target: "/x?q=drop").interruption?.ruleID == 3)
        #expect(Self.run(rules, target: "/search?q=drop").interruption == nil)
        #expect(Self.run(rules, target: "/search?other=drop").interruption?.ruleID == 3)
        #expect(Self.run(rules, target: "/admin?q=drop").interruption == nil)
        let detecting = try Self.load(text.replacingOccurrences(of: "SecRuleEngine On", with: "SecRuleEngine DetectionOnly"))
        let transaction = Self.run(detecting, target: "/x?q=drop")
        #expect(transaction.interruption == nil)
        #expect(transaction.matches.map(\.id) == [3])
    }

    @Test("SecRuleRemoveById, SecRuleUpdateTargetById and SecRuleUpdateActionById apply to rules loaded before them")
    func updates() throws {
        let rules = try Self.load("""
            SecRuleEngine On
            SecRule ARGS "@contains x" "id:1,phase:2,deny"
            SecRule ARGS "@contains y" "id:2,phase:2,deny"
            SecRule ARGS "@contains z" "id:3,phase:2,pass,log"
            SecRuleRemoveById 2
            SecRuleUpdateTargetById 1 "!ARGS:comment"
            SecRuleUpdateActionById 3 "deny,status:418"
            """)
        #expect(Self.run(rules, target: "/?a=y").interruption == nil)
        #expect(Self.run(rules, target: "/?comment=x").interruption == nil)
        #expect(Self.run(rules, target: "/?a=x").interruption?.ruleID == 1)
        #expect(Self.run(rules, target: "/?a=z").interruption?.status == 418)
    }

    @Test("transformations follow ModSecurity's definitions")
    func transformations() {
        func apply(_ transformation: Transformation, _ input: String) -> String {
            String(decoding: transformation.apply(Array(input.utf8)), as: UTF8.self)
        }
        #expect(apply(.urlDecodeUni, "a%20b+c%u0041%uff1c%zz") == "a b cA<%zz")
        #expect(apply(.urlDecode, "%27%2") == "'%2")
        #expect(apply(.htmlEntityDecode, "&lt;a&#x41;&#66;&quot;&amp &foo;") == "<aAB\"& &foo;")
        #expect(apply(.jsDecode, "\\x41\\u0042\\n\\101\\z") == "AB\nAz")
        #expect(apply(.cssDecode, "\\3c script\\3e\\\"x") == "<script>\"x")
        #expect(apply(.cmdLine, "C^at  \"/ETC/pass\"wd ;ls,x") == "cat/etc/passwd ls x")
        #expect(apply(.compressWhitespace, "a \t\n b") == "a b")
        #expect(apply(.removeWhitespace, " a b ") == "ab")
        #expect(apply(.replaceComments, "a/*x*/b/*open") == "a b ")
        #expect(apply(.removeComments, "1/*c*/2<!--x-->3--rest") == "123")
        #expect(apply(.normalizePath, "/a/./b/../../c//d/") == "/c/d/")
        #expect(apply(.normalizePathWin, "\\a\\..\\b") == "/b")
        #expect(apply(.base64Decode, "SGVsbG8=") == "Hello")
        #expect(apply(.hexEncode, "A!") == "4121")
        #expect(apply(.hexDecode, "4142") == "AB")
        #expect(apply(.length, "abcd") == "4")
        #expect(apply(.lowercase, "MiXeD") == "mixed")
        #expect(apply(.trim, "  x  ") == "x")
        #expect(apply(.utf8toUnicode, "ñ") == "%u00f1")
        #expect(apply(.removeNulls, "a\u{0}b") == "ab")
        #expect(apply(.escapeSeqDecode, "\\x41\\t\\101") == "A\tA")
        #expect(apply(.sqlHexDecode, "0x414243 x") == "ABC x")
        // Values a transformation leaves as they are come back unchanged (the fast paths that skip the copy) and
        // values just past those paths' checks are still transformed.
        #expect(apply(.normalizePath, "/api/polling-place") == "/api/polling-place")
        #expect(apply(.normalizePath, "/results/") == "/results/")
        #expect(apply(.normalizePath, "/") == "/")
        #expect(apply(.normalizePath, "a//b") == "a/b")
        #expect(apply(.normalizePath, "//a") == "/a")
        #expect(apply(.normalizePath, ".") == "")
        #expect(apply(.normalizePath, "a/../b") == "b")
        #expect(apply(.normalizePath, "..") == "..")
        #expect(apply(.normalizePath, "x/.") == "x/")
        #expect(apply(.normalizePathWin, "a\\b") == "a/b")
        #expect(apply(.cmdLine, "plain-words_1") == "plain-words_1")
        #expect(apply(.cmdLine, "Plain") == "plain")
        #expect(apply(.cmdLine, "a ,/b") == "a/b")
        #expect(apply(.compressWhitespace, "nospace") == "nospace")
        #expect(apply(.removeComments, "a-b") == "a-b")
        #expect(apply(.removeComments, "a#b") == "a")
        #expect(apply(.removeCommentsChar, "a*/b--c#") == "abc")
        #expect(apply(.replaceComments, "a/b") == "a/b")
        #expect(apply(.trim, "x y") == "x y")
        #expect(apply(.trim, " x") == "x")
        #expect(apply(.removeWhitespace, "ab") == "ab")
        #expect(apply(.replaceNulls, "a\u{0}b") == "a b")
    }

    @Test("operators: @pm is case-insensitive Aho-Corasick; @within, @ipMatch, @validateByteRange, @validateUtf8Encoding")
    func operators() throws {
        let matcher = PhraseMatcher(phrases: ["passwd", "etc/shadow", "union"])
        #expect(matcher.firstMatch(in: Array("/ETC/Shadow".utf8)) == 1)
        #expect(matcher.firstMatch(in: Array("unio".utf8)) == nil)
        #expect(matcher.firstMatch(in: Array("xxpasswdxx".utf8)) == 0)
        let rules = try Self.load("""
            SecAction "id:1,phase:1,pass,nolog,setvar:tx.allowed=|get| |post|"
            SecRule REQUEST_METHOD "!@within %{tx.allowed}" "id:2,phase:1,pass,log,t:lowercase"
            SecRule REMOTE_ADDR "@ipMatch 10.0.0.0/8,::1" "id:3,phase:1,pass,log"
            SecRule ARGS "@validateByteRange 32-126" "id:4,phase:2,pass,log"
            SecRule ARGS "@validateUtf8Encoding" "id:5,phase:2,pass,log"
            SecRule ARGS "@pm select union" "id:6,phase:2,pass,log"
            """)
        #expect(Self.run(rules, method: "PUT", target: "/").matches.map(\.id).contains(2))
        #expect(!Self.run(rules, method: "POST", target: "/").matches.map(\.id).contains(2))
        let request = WAFRequest(method: "GET", target: "/?a=%01&b=%C3%28&c=UNION", headers: [], remoteAddress: "10.1.2.3")
        let transaction = Transaction(rules: rules, request: request)
        transaction.processRequestHeaders()
        transaction.processRequestBody([])
        #expect(Set(transaction.matches.map(\.id)) == [3, 4, 5, 6])
    }

    @Test("body processors: multipart fields and files, JSON arguments, malformed bodies set REQBODY_ERROR")
    func bodies() throws {
        let rules = try Self.load(BaseRules.text + """

            SecRule FILES "@endsWith .php" "id:10,phase:2,pass,log"
            SecRule ARGS:note "@streq hi there" "id:11,phase:2,pass,log"
            SecRule ARGS:json.user.name "@streq Nuñez" "id:12,phase:2,pass,log"
            SecRule ARGS:json.tags.1 "@streq b" "id:13,phase:2,pass,log"
            SecRule MULTIPART_PART_HEADERS "@rx ^content-type" "id:14,phase:2,pass,log,t:lowercase"
            """)
        let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi there\r\n--XyZ\r\n"
            + "Content-Disposition: form-data; name=\"upload\"; filename=\"shell.php\"\r\nContent-Type: text/plain\r\n\r\n<?php ?>\r\n--XyZ--\r\n"
        let upload = Self.run(rules, method: "POST", target: "/", headers: [("Content-Type", "multipart/form-data; boundary=XyZ")], body: multipart)
        #expect(Set(upload.matches.map(\.id)) == [10, 11, 14])
        let json = Self.run(rules, method: "POST", target: "/api", headers: [("Content-Type", "application/json")],
                            body: #"{"user":{"name":"Nu\u00f1ez"},"tags":["a","b"],"n":null}"#)
        #expect(Set(json.matches.map(\.id)) == [12, 13])
        let broken = Self.run(rules, method: "POST", target: "/api", headers: [("Content-Type", "application/json")], body: "{\"a\":")
        #expect(broken.interruption?.ruleID == 200002)
        #expect(broken.interruption?.status == 400)
        let unterminated = Self.run(rules, method: "POST", target: "/", headers: [("Content-Type", "multipart/form-data; boundary=XyZ")],
                                    body: "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n")
        #expect(unterminated.interruption != nil)
        // A file's bytes may hold bare LFs (and CRs): that is data, not a malformed body.
        let binary = "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"scan.png\"\r\nContent-Type: image/png\r\n\r\n"
            + "\u{1}PNG\n\n\r\u{0}x\nend\r\n--XyZ--\r\n"
        let upload2 = Self.run(rules, method: "POST", target: "/", headers: [("Content-Type", "multipart/form-data; boundary=XyZ")], body: binary)
        #expect(upload2.interruption == nil, "\(upload2.matches.map(\.id))")
    }

    @Test("no input makes the engine crash: random bytes through the parsers and decoders")
    func fuzz() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("%u0aF&=;\"'\\<>-/*#{}[]:,\r\n --boundary".utf8)
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<length).map { _ in Bool.random() ? alphabet.randomElement()! : UInt8.random(in: 0...255) }
            for transformation in Transformation.allCases { _ = transformation.apply(bytes) }
            var json = JSONArguments()
            _ = json.parse(bytes)
            var xml = XMLText()
            _ = xml.parse(bytes)
            var multipart = MultipartParser(contentType: "multipart/form-data; boundary=boundary")
            multipart.parse(bytes)
            _ = SQLInjectionDetector.detect(bytes)
            _ = XSSDetector.detect(bytes)
            _ = try? SecLangParser.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz")
            _ = try? ActionListParser.parse(String(decoding: bytes, as: UTF8.self), location: SourceLocation(file: "f", line: 1))
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
