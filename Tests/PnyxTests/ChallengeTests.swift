import NIOCore
import NIOHTTP1
@testable import PnyxChallenge
import PnyxCore
import Synchronization
import Testing

@Suite("Bot challenge: tokens, clearance, crawlers (pure)")
struct ChallengeTests {
    static let keys = ChallengeKeys(secret: Array(repeating: 7, count: 32))
    static let now: Int64 = 1_795_000_000

    @Test("a challenge token verifies only for its site, client network, return path and time; tampering is caught")
    func tokens() throws {
        let token = ChallengeToken.issue(
            kind: .proofOfWork, keys: Self.keys, site: "county", prefix: "4:c0a801", target: "/results", difficulty: 8, now: Self.now)
        func verify(_ text: String, site: String = "county", prefix: String = "4:c0a801", target: String = "/results", at: Int64 = ChallengeTests.now)
            -> Result<ChallengeToken, ChallengeToken.Rejection>
        {
            ChallengeToken.verify(text[...], keys: Self.keys, site: site, prefix: prefix, target: target, now: at)
        }
        #expect(try verify(token.text).get() == token)
        #expect(verify(token.text, site: "other") == .failure(.forged))
        #expect(verify(token.text, prefix: "4:c0a802") == .failure(.forged))
        #expect(verify(token.text, target: "//evil.example") == .failure(.forged))
        #expect(verify(token.text, at: Self.now + ChallengeToken.lifetime + 1) == .failure(.expired))
        #expect(verify(token.text, at: Self.now - 60) == .failure(.forged))  // issued in the future
        // A harder or easier difficulty, another time or nonce: the signature no longer matches.
        var parts = token.text.split(separator: ".").map(String.init)
        parts[2] = "1"
        #expect(verify(parts.joined(separator: ".")) == .failure(.forged))
        parts = token.text.split(separator: ".").map(String.init)
        parts[1] = String(Self.now + 1)
        #expect(verify(parts.joined(separator: ".")) == .failure(.forged))
        #expect(verify("p.1.2.3") == .failure(.malformed))
        #expect(verify("") == .failure(.malformed))
        // Another node secret: forged.
        let other = ChallengeKeys(secret: Array(repeating: 8, count: 32))
        #expect(ChallengeToken.verify(token.text[...], keys: other, site: "county", prefix: "4:c0a801", target: "/results", now: Self.now) == .failure(.forged))

        // The no-JavaScript token is time-locked.
        let wait = ChallengeToken.issue(kind: .wait, keys: Self.keys, site: "county", prefix: "-", target: "/", difficulty: 0, now: Self.now)
        let early = ChallengeToken.verify(wait.text[...], keys: Self.keys, site: "county", prefix: "-", target: "/", now: Self.now + 2, wait: 5)
        #expect(early == .failure(.notYet))
        let late = ChallengeToken.verify(wait.text[...], keys: Self.keys, site: "county", prefix: "-", target: "/", now: Self.now + 5, wait: 5)
        #expect((try? late.get())?.kind == .wait)
    }

    @Test("proof of work: a found counter passes, others and non-digits do not")
    func proofOfWork() {
        let counter = ProofOfWork.solve(challenge: "p.1.12.abc", difficulty: 12)
        #expect(ProofOfWork.isSolved(challenge: "p.1.12.abc", counter: counter, difficulty: 12))
        #expect(!ProofOfWork.isSolved(challenge: "p.1.12.abd", counter: counter, difficulty: 12) || counter == "0")
        #expect(!ProofOfWork.isSolved(challenge: "p.1.12.abc", counter: "-1", difficulty: 0))
        #expect(!ProofOfWork.isSolved(challenge: "p.1.12.abc", counter: "", difficulty: 0))
        #expect(ProofOfWork.isSolved(challenge: "x", counter: "5", difficulty: 0))
        #expect(ProofOfWork.leadingZeroBits([0, 0, 0x10, 0xFF]) == 19)
    }

    @Test("clearance cookies: valid until they expire, for one site and client network; attributes")
    func clearance() {
        let value = Clearance.mint(keys: Self.keys, site: "county", prefix: "4:c0a801", now: Self.now, lifetime: 3600)
        func valid(_ v: String, site: String = "county", prefix: String = "4:c0a801", at: Int64 = ChallengeTests.now) -> Bool {
            Clearance.isValid(v[...], keys: Self.keys, site: site, prefix: prefix, now: at)
        }
        #expect(valid(value))
        #expect(valid(value, at: Self.now + 3599))
        #expect(!valid(value, at: Self.now + 3600))
        #expect(!valid(value, site: "state"))
        #expect(!valid(value, prefix: "6:20010db8"))
        let parts = value.split(separator: ".").map(String.init)
        #expect(!valid("\(parts[0]).\(Int64(parts[1])! + 86_400).\(parts[2])"))  // extended by hand
        #expect(!valid("\(parts[0]).\(parts[1]).\(parts[2].dropLast())A"))
        #expect(!valid("garbage"))
        // Longer than a day (the keys rotate daily) is refused even if signed.
        let long = Clearance.mint(keys: Self.keys, site: "county", prefix: "-", now: Self.now, lifetime: 2 * 86_400)
        #expect(!Clearance.isValid(long[...], keys: Self.keys, site: "county", prefix: "-", now: Self.now + 10))

        let header = Clearance.setCookie(value, lifetime: 3600, secure: true)
        #expect(header.hasPrefix("pnyx_clearance=\(value); "))
        for attribute in ["Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax", "Secure"] { #expect(header.contains(attribute)) }
        #expect(!Clearance.setCookie(value, lifetime: 60, secure: false).contains("Secure"))
        #expect(Clearance.find(in: ["a=1; pnyx_clearance=xyz; b=2"]) == "xyz")
        #expect(Clearance.find(in: ["a=1", "pnyx_clearance=q"]) == "q")
        #expect(Clearance.find(in: ["xpnyx_clearance=1"]) == nil)
        // Client networks: an IPv4 /24, an IPv6 /64.
        #expect(ClientPrefix.of(IPAddress("192.168.1.20")) == ClientPrefix.of(IPAddress("192.168.1.99")))
        #expect(ClientPrefix.of(IPAddress("192.168.1.20")) != ClientPrefix.of(IPAddress("192.168.2.20")))
        #expect(ClientPrefix.of(IPAddress("2001:db8:1:2::1")) == ClientPrefix.of(IPAddress("2001:db8:1:2:ffff::9")))
    }

    struct FakeResolver: HostResolver {
        let names: [String: [String]]
        let addresses: [String: [String]]
        func reverse(_ address: IPAddress) -> [String] { names[address.description] ?? [] }
        func forward(_ name: String) -> [IPAddress] { (addresses[name] ?? []).compactMap { IPAddress($0) } }
    }

    @Test("crawlers are verified by reverse DNS with forward confirmation, not by their user agent")
    func goodBots() async throws {
        let resolver = FakeResolver(
            names: [
                "66.249.66.1": ["crawl-66-249-66-1.googlebot.com."],
                "203.0.113.5": ["crawl.googlebot.com.evil.example"],
                "198.51.100.7": ["fake.googlebot.com"],
            ],
            addresses: ["crawl-66-249-66-1.googlebot.com": ["66.249.66.1"], "fake.googlebot.com": ["66.249.66.2"]])
        let google = try #require(GoodBotVerifier.claimed("Mozilla/5.0 (compatible; Googlebot/2.1)", bots: GoodBot.builtIn))
        #expect(google.name == "Googlebot")
        #expect(GoodBotVerifier.claimed("curl/8.0", bots: GoodBot.builtIn) == nil)
        #expect(GoodBotVerifier.confirm(IPAddress("66.249.66.1")!, bot: google, resolver: resolver))
        #expect(!GoodBotVerifier.confirm(IPAddress("203.0.113.5")!, bot: google, resolver: resolver))  // wrong domain
        #expect(!GoodBotVerifier.confirm(IPAddress("198.51.100.7")!, bot: google, resolver: resolver))  // no forward match
        #expect(!GoodBotVerifier.confirm(IPAddress("192.0.2.1")!, bot: google, resolver: resolver))  // no PTR

        // The verifier answers "pending" once, checks off the data path, then remembers.
        let verifier = GoodBotVerifier(resolver: resolver)
        let real = IPAddress("66.249.66.1")!
        let fake = IPAddress("198.51.100.7")!
        #expect(verifier.status(of: real, claiming: google, now: Self.now) == .pending)
        #expect(verifier.status(of: fake, claiming: google, now: Self.now) == .pending)
        var settled = false
        for _ in 0..<200 where !settled {
            settled = verifier.status(of: real, claiming: google, now: Self.now) != .pending
                && verifier.status(of: fake, claiming: google, now: Self.now) != .pending
            if !settled { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(verifier.status(of: real, claiming: google, now: Self.now) == .verified("Googlebot"))
        #expect(verifier.status(of: fake, claiming: google, now: Self.now) == .impostor)
    }

    @Test("page details: language, escaping, safe return paths, JSON detection, query parsing")
    func pageDetails() {
        #expect(ChallengePage.strings(acceptLanguage: "es-MX,es;q=0.9,en;q=0.5").lang == "es")
        #expect(ChallengePage.strings(acceptLanguage: "en-US,es;q=0.5").lang == "en")
        #expect(ChallengePage.strings(acceptLanguage: nil).lang == "en")
        #expect(ChallengePage.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
        #expect(ChallengePage.jsString("</script>\"\\") == "\"\\u003c/script\\u003e\\\"\\\\\"")
        #expect(ChallengeFilter.safeTarget("/results?x=1") == "/results?x=1")
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", "/a\nb", "", "/.pnyx/challenge/verify"] {
            #expect(ChallengeFilter.safeTarget(bad) == "/")
        }
        #expect(ChallengeFilter.wantsJSON(["accept": "application/json"]))
        #expect(ChallengeFilter.wantsJSON(["sec-fetch-mode": "cors"]))
        #expect(ChallengeFilter.wantsJSON(["x-requested-with": "XMLHttpRequest"]))
        #expect(!ChallengeFilter.wantsJSON(["accept": "text/html,application/xhtml+xml,application/json;q=0.9", "sec-fetch-mode": "navigate"]))
        #expect(!ChallengeFilter.wantsJSON([:]))
        let query = QueryString.parameters("/.pnyx/challenge/verify?t=p.1.2&s=42&r=%2Fresults%3Fa%3D1")
        #expect(query["t"] == "p.1.2")
        #expect(query["s"] == "42")
        #expect(query["r"] == "/results?a=1")
        let token = ChallengeToken.issue(kind: .proofOfWork, keys: Self.keys, site: "s", prefix: "-", target: "/", difficulty: 4, now: Self.now)
        let page = ChallengePage.response(
            token: token, waitToken: token, target: "/a?b=<c>", host: "vote.<x>.gov", waitSeconds: 5, acceptLanguage: "es",
            requestID: "abc", isHEAD: false)
        let html = String(buffer: page.body)
        #expect(page.status == .forbidden)
        #expect(html.contains("lang=\"es\""))
        #expect(!html.contains("vote.<x>"))
        #expect(!html.contains("/a?b=<c>"))
        let csp = page.headers.first(name: "content-security-policy") ?? ""
        #expect(csp.contains("script-src 'nonce-"))
        #expect(!csp.contains("unsafe"))
        let nonce = csp.split(separator: "'").first { $0.hasPrefix("nonce-") }.map { String($0.dropFirst(6)) } ?? "?"
        #expect(html.contains("<script nonce=\"\(nonce)\">"))
        let head = ChallengePage.response(
            token: token, waitToken: token, target: "/", host: "h", waitSeconds: 5, acceptLanguage: nil, requestID: "r", isHEAD: true)
        #expect(head.body.readableBytes == 0)
        #expect(head.headers.first(name: "content-length").flatMap(Int.init) ?? 0 > 1000)
    }
}
