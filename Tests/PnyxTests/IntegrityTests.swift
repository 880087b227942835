import Crypto
import Foundation
import NIOCore
import PnyxCore
@testable import PnyxIntegrity
import Testing

/// Signing, digests, the Merkle log, normalisation, baselines and link discovery, without a network.
@Suite("Integrity: RFC 9421/9530 vectors, Merkle log, baselines")
struct IntegrityTests {
    /// RFC 9421 Appendix B.1.4 `test-key-ed25519` (the JWK's `d`, base64url).
    static let rfcSeed = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
    static let rfcPublic = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"

    @Test("RFC 9421 B.2.6: the signature base and the Ed25519 signature match the RFC byte for byte")
    func rfc9421Ed25519Vector() throws {
        let seed = try #require(Base64URL.decode(Self.rfcSeed))
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        #expect(Base64URL.encode(key.publicKey.rawRepresentation) == Self.rfcPublic)
        let parameters = SignatureParameters(
            components: ["\"date\"", "\"@method\"", "\"@path\"", "\"@authority\"", "\"content-type\"", "\"content-length\""],
            created: 1_618_884_473, keyID: "test-key-ed25519")
        let components = SignatureComponents(
            method: "POST", path: "/foo", authority: "example.com",
            fields: ["date": "Tue, 20 Apr 2021 02:07:55 GMT", "content-type": "application/json", "content-length": "18"])
        let base = try components.signatureBase(parameters)
        #expect(
            base == """
                "date": Tue, 20 Apr 2021 02:07:55 GMT
                "@method": POST
                "@path": /foo
                "@authority": example.com
                "content-type": application/json
                "content-length": 18
                "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
                """)
        #expect("sig-b26=\(parameters.serialized)" == #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#)
        let signature = try SiteSigningKey(privateKey: key).sign(base)
        #expect(Data(signature).base64EncodedString() == "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")
        // A missing component is an error, not an empty line.
        #expect(throws: SignatureComponents.MissingComponent.self) {
            try SignatureComponents(path: "/foo").signatureBase(SignatureParameters(components: ["\"date\""]))
        }
    }

    @Test("RFC 9530: Content-Digest of {\"hello\": \"world\"} (sha-256 and sha-512), and a changed body fails")
    func rfc9530Vectors() {
        let body = Array(#"{"hello": "world"}"#.utf8)
        #expect(ContentDigest.header(for: body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        let sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        #expect(ContentDigest.check(sha512, body: body) == .matches(algorithm: "sha-512"))
        #expect(ContentDigest.check("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body: body) == .matches(algorithm: "sha-256"))
        #expect(ContentDigest.check(sha512, body: Array(#"{"hello": "World"}"#.utf8)) == .mismatch(algorithm: "sha-512"))
        #expect(ContentDigest.check("md5=:AAAA:", body: body) == .unusable)
    }

    @Test("Merkle log: roots equal RFC 9162's recursive definition, every inclusion proof verifies, wrong ones do not")
    func merkleLog() {
        var log = MerkleLog()
        var leaves: [MerkleTree.Hash] = []
        for n in 1...33 {
            let leaf = MerkleTree.leafHash(Array("entry \(n)".utf8))
            leaves.append(leaf)
            log.append(leafHash: leaf)
            #expect(log.root() == MerkleTree.root(leaves[...]))
            for index in 0..<n {
                let proof = log.inclusionProof(index: index)
                #expect(proof == MerkleTree.inclusionProof(index: index, leaves[...]))
                #expect(MerkleTree.verifyInclusion(index: index, size: n, leafHash: leaves[index], proof: proof, root: log.root()))
                if n > 1 {
                    #expect(!MerkleTree.verifyInclusion(index: index, size: n, leafHash: leaves[(index + 1) % n], proof: proof, root: log.root()))
                }
            }
        }
        // A proof of an older tree size checks against that size's root.
        #expect(MerkleTree.verifyInclusion(index: 2, size: 5, leafHash: leaves[2], proof: log.inclusionProof(index: 2, size: 5), root: log.root(size: 5)))
        #expect(MerkleTree.root([]) == Array(SHA256.hash(data: [UInt8]())))
    }

    @Test("transparency log: a version is logged once, a new one appends, the file survives a restart, tree heads verify")
    func transparencyLogPersists() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-log-\(UUID().uuidString.prefix(8))").path
        let key = try SiteSigningKey.loadOrCreate(path: "\(directory)/signing.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(directory)/signing.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let log = TransparencyLog(site: "county", key: key, file: "\(directory)/log.jsonl")
        let first = log.record(path: "/results", digest: "AAA=", time: 100)
        #expect(first.isNew && first.entry.index == 0)
        let again = log.record(path: "/results", digest: "AAA=", time: 200)
        #expect(again.entry == first.entry && !again.isNew)
        #expect(log.record(path: "/results/summary.json", digest: "BBB=", time: 300).entry.index == 1)
        #expect(log.record(path: "/results", digest: "CCC=", time: 400).entry.index == 2)
        let head = log.treeHead(now: 500)
        #expect(head.size == 3 && head.verify(publicKey: key.publicKey))
        var forged = head
        forged.size = 2
        #expect(!forged.verify(publicKey: key.publicKey))
        let proof = try #require(log.proof(index: 1, now: 500))
        #expect(proof.verify())
        log.flush()

        let sameKey = try SiteSigningKey.loadOrCreate(path: "\(directory)/signing.key")
        #expect(sameKey.keyID == key.keyID)
        let reopened = TransparencyLog(site: "county", key: sameKey, file: "\(directory)/log.jsonl")
        #expect(reopened.size == 3)
        #expect(reopened.treeHead(now: 600).root == head.root)
        #expect(reopened.latest(path: "/results")?.digest == "CCC=")
        #expect(reopened.entries(from: 0, count: 10).map(\.index) == [0, 1, 2])
    }

    @Test("normalisation: timestamps, tokens, selectors and markers are left out; real changes are not")
    func normalisation() {
        let normaliser = PageNormaliser([
            .timestamps, .tokens, .selector("#updated"), .selector("span.clock"), .selector("meta[name=build]"),
            .between("<!-- live -->", "<!-- /live -->"),
        ])
        func page(_ time: String, _ token: String, _ updated: String, _ live: String, polls: String = "7:00 AM") -> [UInt8] {
            Array("""
                <html><head><meta name="build" content="\(token)"><script nonce="\(token)">x()</script></head><body>
                <p>Polls open at \(polls) on 2026-11-03.</p><p>Generated \(time)</p>
                <form><input type="hidden" name="csrf_token" value="\(token)"></form>
                <div id="updated"><b>\(updated)</b><div>nested</div></div><span class="clock big">\(updated)</span>
                <!-- live -->\(live)<!-- /live --></body></html>
                """.utf8)
        }
        let a = normaliser.normalise(page("2026-11-03T20:15:00Z", "abc123", "one", "x"), isHTML: true)
        let b = normaliser.normalise(page("2026-11-03T21:45:09Z", "zz9", "two", "y"), isHTML: true)
        #expect(a == b)
        // `timestamps` blanks every date and time, a changed polling time included: that is why it is not a default
        // and a selector for the "updated" element is the better rule.
        let changed = normaliser.normalise(page("2026-11-03T21:45:09Z", "zz9", "two", "y", polls: "9:00 AM"), isHTML: true)
        #expect(String(decoding: changed, as: UTF8.self).contains("Polls open at # AM on #</p><p>Generated #</p>"))
        let defaults = PageNormaliser(IntegrityPolicy().ignore)
        #expect(IntegrityPolicy().ignore == [.tokens])
        func form(_ token: String, polls: String = "7:00 AM") -> [UInt8] {
            Array(#"<script nonce="\#(token)">x()</script><p>Polls open at \#(polls)</p><input type=hidden name=authenticity_token value=\#(token)>"#.utf8)
        }
        #expect(defaults.normalise(form("abc"), isHTML: true) == defaults.normalise(form("zz9"), isHTML: true))
        #expect(defaults.normalise(form("abc"), isHTML: true) != defaults.normalise(form("abc", polls: "9:00 AM"), isHTML: true))
        let wordChange = normaliser.normalise(Array("<p>Polls open on Tuesday</p>".utf8), isHTML: true)
        #expect(wordChange != normaliser.normalise(Array("<p>Polls open on Wednesday</p>".utf8), isHTML: true))
        // Without rules nothing is taken out.
        #expect(PageNormaliser([]).normalise(page("1", "2", "3", "4"), isHTML: true) == page("1", "2", "3", "4"))
        #expect(SimpleSelector("input[name=csrf]") != nil && SimpleSelector("") == nil)
    }

    @Test("HTML scanner: tags, attributes, raw text and comments at the right offsets")
    func scanner() {
        let html = Array(#"<!doctype html><P class='a b' data-x=1 hidden>t<script>if (a<b) document.write("</p>")</script><!-- c --><img src=/x.png/></P>"#.utf8)
        var scanner = HTMLScanner(html)
        var tokens: [HTMLScanner.Token] = []
        while let token = scanner.next() { tokens.append(token) }
        guard case .startTag(let name, let attributes, _, _) = tokens[1] else {
            Issue.record("expected a start tag, got \(tokens[1])")
            return
        }
        #expect(name == "p")
        #expect(attributes.map(\.name) == ["class", "data-x", "hidden"])
        #expect(attributes.map(\.value) == ["a b", "1", ""])
        // The script's body is one text token, '<b' and "</p>" inside it included.
        guard case .text(let range) = tokens[4] else {
            Issue.record("expected the script text, got \(tokens[4])")
            return
        }
        #expect(String(decoding: html[range], as: UTF8.self) == #"if (a<b) document.write("</p>")"#)
        #expect(tokens.contains { if case .endTag("p", _) = $0 { return true } else { return false } })
    }

    @Test("baselines: pin, a differing version held once, approval, and everything read back after a restart")
    func baselineStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-base-\(UUID().uuidString.prefix(8))").path
        let normaliser = PageNormaliser([.timestamps])
        let store = BaselineStore(directory: directory)
        #expect(store.isEmpty)
        let pinned = store.pin(path: "/", contentType: "text/html", body: Array("<p>v1 at 10:00</p>".utf8), normaliser: normaliser, by: "pin", now: 1)
        #expect(store.page("/")?.baseline == pinned)
        let v2 = Array("<p>v2</p>".utf8)
        #expect(store.hold(path: "/", contentType: "text/html", body: v2, digest: "d2", normalisedDigest: "n2", now: 2))
        #expect(!store.hold(path: "/", contentType: "text/html", body: v2, digest: "d2", normalisedDigest: "n2", now: 3))
        #expect(store.pendingVersions.first?.seen == 2)
        store.flush()
        let restarted = BaselineStore(directory: directory)
        #expect(restarted.page("/")?.baseline == pinned)
        #expect(restarted.pendingVersions.map(\.path) == ["/"])
        let approved = try #require(restarted.approvePending(path: "/", normaliser: normaliser, by: "approve", now: 4))
        #expect(approved.size == v2.count && restarted.pendingVersions.isEmpty)
        #expect(Array(restarted.page("/")!.body.readableBytesView) == v2)
        #expect(restarted.approvePending(path: "/", normaliser: normaliser, by: "approve", now: 5) == nil)
        #expect(restarted.unpin(path: "/") && restarted.isEmpty)
        restarted.flush()
        #expect(BaselineStore(directory: directory).isEmpty)
    }

    @Test("crawl links: the site's own pages, scripts and stylesheets, resolved; other sites and schemes skipped")
    func links() {
        let html = Array("""
            <a href="/results">r</a><a href="lookup?x=1#top">l</a><a href="../up">u</a><a href="https://vote.test/faq">f</a>
            <a href="https://evil.example/x">e</a><a href="mailto:clerk@vote.test">m</a><a href="#top">t</a>
            <script src="/assets/app.js"></script><link rel="stylesheet" href="/site.css"><link rel="canonical" href="/c">
            <a href="/results">dup</a>
            """.utf8)
        #expect(
            Pinner.links(in: html, base: "/info/page", hosts: ["vote.test"])
                == ["/results", "/info/lookup?x=1", "/up", "/faq", "/assets/app.js", "/site.css"])
    }

    @Test("verifier: a signed response passes; a changed body, digest or signature fails")
    func verifier() throws {
        let key = SiteSigningKey(privateKey: .init())
        let log = TransparencyLog(site: "county", key: key, file: nil)
        let entry = IntegrityFilter.SiteEntry(
            site: "county", policy: IntegrityPolicy(), baselines: BaselineStore(directory: nil), signer: SiteSigner(key: key, log: log),
            stats: IntegrityStats().counters(for: "county"))
        let body = Array(#"{"votes":123}"#.utf8)
        var head = ResponseHead(status: .ok)
        IntegrityCollector.sign(
            nil, signer: entry.signer!, path: "/results/summary.json", now: 1_795_000_000, head: &head,
            digest: ContentDigest.sha256Base64(ByteBuffer(bytes: body)), entry: entry)
        // The same version a moment later gets the same signature (not signed again), a new one a new entry.
        var again = ResponseHead(status: .ok)
        IntegrityCollector.sign(
            nil, signer: entry.signer!, path: "/results/summary.json", now: 1_795_000_030, head: &again,
            digest: ContentDigest.sha256Base64(ByteBuffer(bytes: body)), entry: entry)
        #expect(again.headers.first(name: "signature") == head.headers.first(name: "signature"))
        #expect(log.size == 1)
        var headers: [String: String] = [:]
        for (name, value) in head.headers.httpHeaders { headers[name.lowercased()] = value }
        let document = ResponseVerifier.KeyDocument(
            site: "county", alg: "ed25519", keyid: key.keyID, publicKey: key.publicKey.rawRepresentation.base64EncodedString())
        let good = ResponseVerifier(path: "/results/summary.json", headers: headers, body: body)
        #expect(good.verifySignature(key: document).allSatisfy { $0.passed })
        let index = try #require(good.logIndex)
        let proof = try #require(log.proof(index: index, now: 1_795_000_001))
        #expect(good.verifyLog(proof, key: document).allSatisfy { $0.passed })

        let tampered = Array(#"{"votes":923}"#.utf8)
        let changedBody = ResponseVerifier(path: "/results/summary.json", headers: headers, body: tampered)
        #expect(changedBody.verifySignature(key: document).first { $0.name == "content-digest" }?.passed == false)
        #expect(changedBody.verifyLog(proof, key: document).first { $0.name == "log-entry" }?.passed == false)
        var newDigest = headers
        newDigest["content-digest"] = ContentDigest.header(for: tampered)
        let forged = ResponseVerifier(path: "/results/summary.json", headers: newDigest, body: tampered)
        let checks = forged.verifySignature(key: document)
        #expect(checks.first { $0.name == "content-digest" }?.passed == true)
        #expect(checks.first { $0.name == "signature" }?.passed == false)
        // Another path, or another key, fails too.
        #expect(ResponseVerifier(path: "/results/other.json", headers: headers, body: body).verifySignature(key: document).contains { !$0.passed })
        var otherKey = document
        otherKey.publicKey = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
        #expect(good.verifySignature(key: otherKey).contains { !$0.passed })
    }
}

/// The script inventory without a network.
@Suite("Integrity: script inventory, signatures, CSP reports")
struct ScriptInventoryTests {
    @Test("scripts of a page: external (made absolute), inline (hashed), module preloads; data blocks skipped")
    func extraction() {
        let html = Array("""
            <script src="/assets/app.js"></script><script src="https://cdn.example/lib.js" integrity="x"></script>
            <script>var a = 1;</script><script type="application/ld+json">{"a":1}</script>
            <link rel="modulepreload" href="mod.js"><link rel="preload" as="script" href="//cdn.example/p.js">
            <link rel="preload" as="style" href="/s.css"><script src="javascript:alert(1)"></script>
            """.utf8)
        let found = ScriptExtractor.scripts(in: html, scheme: "https", host: "vote.test", path: "/results/index")
        #expect(
            found.map(\.id) == [
                "https://vote.test/assets/app.js", "https://cdn.example/lib.js", "inline:" + ScriptExtractor.inlineHash(Array("var a = 1;".utf8)),
                "https://vote.test/results/mod.js", "https://cdn.example/p.js",
            ])
        #expect(ScriptExtractor.host(of: "https://User@CDN.example:8443/x.js") == "cdn.example")
    }

    @Test("known-bad signatures: miners and skimmers match by URL or content; ordinary scripts do not")
    func signatures() {
        #expect(KnownBadScripts.match("https://coin-hive.example/lib/coinhive.min.js")?.kind == "cryptominer")
        #expect(KnownBadScripts.match("var m = new CoinHive.Anonymous('k'); m.start();")?.name == "coinhive")
        #expect(KnownBadScripts.match("fetch('/api/polling-place?address=' + a)") == nil)
        #expect(KnownBadScripts.match("x=atob('aHR0cHM6Ly9leGFtcGxlLmNvbS9j')")?.kind == "skimmer")
    }

    @Test("inventory: new scripts, a new third-party host, a changed external script, approval, and the report-only policy")
    func inventory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-inv-\(UUID().uuidString.prefix(8))").path
        let watch = IntegrityState(directory: directory).scripts(for: "county")
        let page = ScriptExtractor.scripts(
            in: Array(#"<script src="/app.js"></script><script src="https://cdn.example/a.js"></script><script>go()</script>"#.utf8),
            scheme: "https", host: "vote.test", path: "/")
        let changes = watch.inventory.observe(page, page: "/", siteHosts: ["vote.test"], source: "html", now: 100)
        #expect(changes.filter { if case .newScript = $0 { return true } else { return false } }.count == 3)
        #expect(changes.contains(.newDomain("cdn.example", watch.inventory.record("https://cdn.example/a.js")!)))
        #expect(watch.inventory.observe(page, page: "/results", siteHosts: ["vote.test"], source: "html", now: 200).isEmpty)
        #expect(watch.inventory.record("https://vote.test/app.js")?.pages == ["/", "/results"])

        #expect(watch.inventory.dueForFetch(among: ["https://vote.test/app.js"], now: 200, interval: 600, limit: 4) == ["https://vote.test/app.js"])
        #expect(watch.inventory.dueForFetch(among: ["https://vote.test/app.js"], now: 300, interval: 600, limit: 4).isEmpty)
        #expect(watch.inventory.fetched("https://vote.test/app.js", content: Array("ok()".utf8), now: 200).isEmpty)
        let swapped = watch.inventory.fetched("https://vote.test/app.js", content: Array("var miner = new CoinHive.Anonymous('x')".utf8), now: 900)
        #expect(swapped.count == 2)
        #expect(watch.inventory.record("https://vote.test/app.js")?.flagged == "coinhive")

        #expect(watch.reportOnlyPolicy == "script-src 'self'; report-uri /.well-known/pnyx/csp-report")
        // Approving everything skips the flagged script.
        #expect(watch.approve(nil) == 2)
        let inline = ScriptExtractor.inlineHash(Array("go()".utf8))
        #expect(watch.reportOnlyPolicy == "script-src 'self' '\(inline)' https://cdn.example/a.js; report-uri /.well-known/pnyx/csp-report")
        watch.inventory.flush()
        let reloaded = ScriptInventory(file: "\(directory)/county/scripts.json")
        #expect(reloaded.all.count == 3)
        #expect(reloaded.all.filter(\.approved).count == 2)
    }

    @Test("CSP reports: the legacy and the Reporting API formats; junk yields nothing")
    func reports() {
        let legacy = CSPReportConsumer.parse(Array("""
            {"csp-report":{"document-uri":"https://vote.test/lookup?x=1","blocked-uri":"https://evil.example/s.js","effective-directive":"script-src-elem"}}
            """.utf8))
        #expect(legacy == [.init(blocked: "https://evil.example/s.js", document: "https://vote.test/lookup?x=1", directive: "script-src-elem", sample: nil)])
        let modern = CSPReportConsumer.parse(Array("""
            [{"type":"csp-violation","body":{"documentURL":"https://vote.test/","blockedURL":"inline","effectiveDirective":"script-src-elem","sample":"alert(1)"}},
             {"type":"deprecation","body":{}}]
            """.utf8))
        #expect(modern.count == 1 && modern[0].sample == "alert(1)" && modern[0].blocked == "inline")
        #expect(CSPReportConsumer.parse(Array("not json".utf8)).isEmpty)
        #expect(ScriptWatch.pathOf("https://vote.test/lookup?x=1") == "/lookup")
    }
}

/// Enforcement: the streaming script-tag rewriter and the policy.
@Suite("Integrity: CSP nonces and SRI, rewritten as the page streams")
struct ScriptEnforcementTests {
    static let page = Array("""
        <!doctype html><html><head><title>Results</title>
        <script>renderResults()</script>
        <script src="/assets/app.js"></script>
        <SCRIPT type="module" src='https://cdn.example/lib.js'></SCRIPT>
        <!-- <script>commented()</script> -->
        </head><body><p>a < b and <scripting> is text</p>
        <script>var miner = new CoinHive.Anonymous('x'); miner.start();</script>
        <script src="https://coin-hive.example/lib/coinhive.min.js"></script>
        <script src="/assets/app.js" nonce="theirs"></script>
        </body></html>
        """.utf8)

    static func enforcementSet() -> EnforcementSet {
        let own = ScriptRecord(
            id: "https://vote.test/assets/app.js", kind: .external, host: "vote.test", thirdParty: false, contentHash: "sha256-AAA=",
            firstSeen: 1, lastSeen: 1, lastFetched: 1, pages: ["/"], approved: true, approvedHash: "sha256-AAA=", flagged: nil, source: "html")
        var cdn = own
        cdn.id = "https://cdn.example/lib.js"
        cdn.host = "cdn.example"
        cdn.thirdParty = true
        cdn.approvedHash = nil
        let hash = ScriptExtractor.inlineHash(Array("renderResults()".utf8))
        var inline = own
        inline.id = "inline:\(hash)"
        inline.kind = .inline
        inline.contentHash = hash
        var miner = inline
        miner.id = "https://coin-hive.example/lib/coinhive.min.js"
        miner.kind = .external
        miner.flagged = "coinhive"
        return EnforcementSet([own, cdn, inline, miner])
    }

    static func rewrite(_ chunks: [ArraySlice<UInt8>]) -> (String, Int) {
        let rewriter = ScriptTagRewriter(nonce: "N0NCE", set: enforcementSet(), scheme: "https", host: "vote.test", path: "/results")
        var out = ByteBuffer()
        for chunk in chunks {
            var part = rewriter.rewrite(ByteBuffer(bytes: chunk))
            out.writeBuffer(&part)
        }
        var tail = rewriter.finish()
        out.writeBuffer(&tail)
        return (String(buffer: out), rewriter.tagged)
    }

    @Test("approved tags get the nonce (own scripts also integrity); the miner, comments and text do not")
    func wholePage() {
        let (html, tagged) = Self.rewrite([Self.page[...]])
        #expect(tagged == 3)
        #expect(html.contains(#"<script nonce="N0NCE">renderResults()</script>"#))
        #expect(html.contains(#"<script src="/assets/app.js" nonce="N0NCE" integrity="sha256-AAA="></script>"#))
        #expect(html.contains(#"<SCRIPT type="module" src='https://cdn.example/lib.js' nonce="N0NCE"></SCRIPT>"#))
        #expect(html.contains("<!-- <script>commented()</script> -->"))
        #expect(html.contains("<script>var miner = new CoinHive.Anonymous('x'); miner.start();</script>"))
        #expect(html.contains(#"<script src="https://coin-hive.example/lib/coinhive.min.js"></script>"#))
        #expect(html.contains(#"<script src="/assets/app.js" nonce="theirs"></script>"#))
        #expect(html.contains("<p>a < b and <scripting> is text</p>"))
        // Nothing else changed.
        let stripped = html.replacingOccurrences(of: #" nonce="N0NCE""#, with: "").replacingOccurrences(of: #" integrity="sha256-AAA=""#, with: "")
        #expect(stripped == String(decoding: Self.page, as: UTF8.self))
    }

    @Test("the same output whatever the chunking: every two-chunk split, and one byte at a time")
    func anyChunking() {
        let (whole, _) = Self.rewrite([Self.page[...]])
        for split in 1..<Self.page.count {
            let (html, tagged) = Self.rewrite([Self.page[..<split], Self.page[split...]])
            #expect(html == whole, "split at \(split)")
            #expect(tagged == 3)
        }
        let bytes = Self.page.indices.map { Self.page[$0...$0] }
        #expect(Self.rewrite(bytes).0 == whole)
    }

    @Test("the enforced policy: the nonce, approved hashes and URLs (own scripts on the page's host), never a flagged script")
    func policy() {
        let set = Self.enforcementSet()
        let hash = ScriptExtractor.inlineHash(Array("renderResults()".utf8))
        #expect(
            set.policy(nonce: "N", scheme: "https", host: "vote.test")
                == "script-src 'nonce-N' '\(hash)' https://cdn.example/lib.js https://vote.test/assets/app.js; object-src 'none'; base-uri 'self'; report-uri /.well-known/pnyx/csp-report")
        #expect(EnforcementSet([]).policy(nonce: nil, scheme: "https", host: "vote.test").hasPrefix("script-src 'none';"))
    }
}
