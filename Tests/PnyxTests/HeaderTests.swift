import NIOCore
import NIOHTTP1
import Testing
import PnyxCore
@testable import PnyxServer

@Suite("Headers and addresses")
struct HeaderTests {
    @Test("requests: hop-by-hop headers and those named in Connection are stripped; end-to-end ones stay")
    func hopByHopRequest() {
        let incoming = HTTPHeaders([
            ("Host", "vote.test"), ("Connection", "keep-alive, X-Secret-Hop , Upgrade"), ("Keep-Alive", "timeout=5"),
            ("X-Secret-Hop", "1"), ("Upgrade", "websocket"), ("TE", "trailers"), ("Trailer", "Expires"),
            ("Proxy-Connection", "keep-alive"), ("Proxy-Authorization", "Basic x"),
            ("Content-Type", "text/plain"), ("Cookie", "a=b"), ("Expect", "100-continue"),
        ])
        let client = ClientIdentity(address: IPAddress("192.0.2.1"), peer: IPAddress("192.0.2.1"), peerIsTrustedProxy: false)
        let result = ForwardingHeaders.build(
            from: incoming, client: client, peerText: "192.0.2.1", scheme: "https", host: "vote.test",
            requestID: RequestID(0xabc), httpVersion: .http1_1)
        let names = Set(result.headers.map { $0.name.lowercased() })
        #expect(names == ["host", "content-type", "cookie", "x-forwarded-for", "forwarded", "x-forwarded-proto",
            "x-forwarded-host", "x-request-id", "via"])
        #expect(result.expectsContinue)
        #expect(result.headers["x-request-id"] == ["0000000000000abc"])
        #expect(result.headers["forwarded"] == [#"for=192.0.2.1;proto=https;host="vote.test""#])
    }

    @Test("responses: the upstream parser drops hop-by-hop headers and reads framing from them")
    func hopByHopResponse() throws {
        let raw = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\nX-Private: 1\r\n"
            + "Transfer-Encoding: chunked\r\nContent-Type: text/html\r\nSet-Cookie: a=b\r\n\r\n"
        let (head, info) = try HTTP1ResponseParser.parseHead(ByteBuffer(string: raw))
        #expect(Set(head.headers.map { $0.name.lowercased() }) == ["content-type", "set-cookie"])
        #expect(info.chunked)
        #expect(info.keepAlive)
        #expect(!info.close)
    }

    @Test("without trusted proxies, a client cannot choose its address with X-Forwarded-For")
    func untrustedPeer() {
        let resolver = ClientAddressResolver(trusted: AddressRangeSet([]))
        let identity = resolver.resolve(peer: IPAddress("203.0.113.9"), headers: ["X-Forwarded-For": "1.2.3.4"])
        #expect(identity.address == IPAddress("203.0.113.9"))
        #expect(!identity.peerIsTrustedProxy)
    }

    @Test("behind trusted proxies, the nearest untrusted address in X-Forwarded-For is the client")
    func trustedChain() {
        let resolver = ClientAddressResolver(trusted: AddressRangeSet([CIDR("10.0.0.0/8")!, CIDR("2001:db8::/32")!]))
        let headers: HTTPHeaders = ["X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.1.1"]
        let identity = resolver.resolve(peer: IPAddress("10.0.0.2"), headers: headers)
        #expect(identity.address == IPAddress("198.51.100.7"))
        #expect(identity.peer == IPAddress("10.0.0.2"))
        #expect(identity.peerIsTrustedProxy)
        // A peer outside the trusted set is itself the client even when it sends the header.
        let spoof = resolver.resolve(peer: IPAddress("192.0.2.1"), headers: headers)
        #expect(spoof.address == IPAddress("192.0.2.1"))
    }

    @Test("RFC 7239 Forwarded is read, with quoted IPv6 and ports")
    func forwarded() {
        let resolver = ClientAddressResolver(trusted: AddressRangeSet([CIDR("127.0.0.1")!]))
        let headers: HTTPHeaders = ["Forwarded": #"for="[2001:db8:cafe::17]:4711";proto=https, for=127.0.0.1"#]
        let identity = resolver.resolve(peer: IPAddress("127.0.0.1"), headers: headers)
        #expect(identity.address == IPAddress("2001:db8:cafe::17"))
    }

    @Test("CIDR matching for IPv4 and IPv6, and IPv4-mapped addresses")
    func cidr() {
        #expect(CIDR("192.168.0.0/16")!.contains(IPAddress("192.168.44.1")!))
        #expect(!CIDR("192.168.0.0/16")!.contains(IPAddress("192.169.0.1")!))
        #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:1::1")!))
        #expect(!CIDR("2001:db8::/32")!.contains(IPAddress("192.168.0.1")!))
        #expect(IPAddress("::ffff:10.1.2.3") == IPAddress("10.1.2.3"))
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(IPAddress("2001:db8::1")!.description == "2001:db8::1")
    }

    @Test("Host values are normalized: case, port, brackets; junk is refused")
    func hostNormalization() {
        #expect(HostRouter.normalize("Vote.Example.GOV:8443") == "vote.example.gov")
        #expect(HostRouter.normalize("[::1]:80") == "::1")
        #expect(HostRouter.normalize("bad host") == nil)
        #expect(HostRouter.normalize("a/b") == nil)
        #expect(HostRouter.normalize("x:port") == nil)
    }

    @Test("cookies are counted as the WAF parses them: the non-blank pieces of every Cookie field")
    func cookieCount() {
        func count(_ fields: [String]) -> Int {
            RequestLimitsFilter.cookieCount(HTTPHeaders(fields.map { ("Cookie", $0) } + [("Host", "vote.test")]))
        }
        #expect(count([]) == 0)
        #expect(count(["a=1"]) == 1)
        #expect(count(["a=1; b=2; c"]) == 3)
        #expect(count(["a=1;; ; ;b=2;"]) == 2)
        #expect(count(["a=1; b=2", "c=3"]) == 3)
        #expect(RequestLimitsFilter.cookieCount(HTTPHeaders([("COOKIE", "a=1;b=2"), ("Cookies", "x=1")])) == 2)
    }
}
