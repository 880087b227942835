import NIOCore
import NIOHTTP1
import PnyxCore
import Testing

@Suite("Byte-backed header fields")
struct HeaderBlockTests {
    @Test("fields are found case-insensitively, in order, and written as wire lines")
    func lookups() {
        var block = HeaderBlock()
        block.add(name: "Content-Type", value: "text/html")
        block.add(name: "Set-Cookie", value: "  a=1 ")
        block.add(literalName: "set-cookie", literalValue: "b=2")
        #expect(block.first(name: "content-type") == "text/html")
        #expect(block.first(name: "CONTENT-TYPE") == "text/html")
        #expect(block["set-cookie"] == ["a=1", "b=2"])
        #expect(block.contains(name: "Set-Cookie"))
        #expect(!block.contains(name: "content-length"))
        #expect(block.first(name: "content-typ") == nil)
        #expect(block.count == 3)
        #expect(block.description == "Content-Type: text/html\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n")
        #expect(block.map { "\($0.name)=\($0.value)" } == ["Content-Type=text/html", "Set-Cookie=a=1", "set-cookie=b=2"])
    }

    @Test("remove and replaceOrAdd touch only the named field")
    func edits() {
        var block = HeaderBlock(HTTPHeaders([("A", "1"), ("X-Powered-By", "PHP"), ("B", "2"), ("x-powered-by", "again")]))
        block.remove(name: "x-powered-by")
        #expect(block.description == "A: 1\r\nB: 2\r\n")
        block.replaceOrAdd(name: "a", value: "3")
        #expect(block.description == "B: 2\r\na: 3\r\n")
        block.remove(name: "missing")
        #expect(block.count == 2)
    }

    @Test("a value with CR, LF or NUL, or a name that is not a token, is refused (no header injection)")
    func injection() {
        var block = HeaderBlock()
        do { let ok = block.add(name: "X-A", value: "1\r\nSet-Cookie: evil=1"); #expect(!ok) }
        do { let ok = block.add(name: "X-A", value: "1\n2"); #expect(!ok) }
        do { let ok = block.add(name: "X-A", value: "1\u{0}"); #expect(!ok) }
        do { let ok = block.add(name: "Bad Name", value: "1"); #expect(!ok) }
        do { let ok = block.add(name: "", value: "1"); #expect(!ok) }
        do { let ok = block.add(name: "X-A", prefix: "a\r\nb", value: "1"); #expect(!ok) }
        #expect(block.isEmpty)
        do { let ok = block.add(name: "X-Forwarded-For", prefix: "6.6.6.6", value: "10.0.0.1"); #expect(ok) }
        #expect(block.first(name: "x-forwarded-for") == "6.6.6.6, 10.0.0.1")
    }

    @Test("the token table matches RFC 9110's tchar exactly")
    func tokenTable() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HeaderBlock.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    @Test("request IDs are written as 16 hex digits")
    func requestIDField() {
        var block = HeaderBlock()
        block.add(literalName: "x-request-id", hex: 0xabc)
        #expect(block.first(name: "x-request-id") == "0000000000000abc")
        #expect(block.first(name: "x-request-id") == RequestID(0xabc).description)
    }
}
