import NIOCore
import PnyxCore
import NIOHTTP1
import Testing
@testable import PnyxServer

@Suite("HTTP/1.1 codec")
struct CodecTests {
    /// Feeds `text` to the request parser split at `cut` (and whole), returning a readable transcript.
    static func parseRequests(_ text: String, splitAt cuts: [Int] = []) throws -> [String] {
        var parser = HTTP1RequestParser(maxHeadBytes: 8192)
        let bytes = Array(text.utf8)
        var pieces: [[UInt8]] = []
        var start = 0
        for cut in cuts.sorted() where cut > start && cut < bytes.count {
            pieces.append(Array(bytes[start..<cut]))
            start = cut
        }
        pieces.append(Array(bytes[start...]))
        var events: [HTTP1RequestParser.Event] = []
        for piece in pieces { try parser.feed(ByteBuffer(bytes: piece), into: &events) }
        var transcript: [String] = []
        var body = ""
        for event in events {
            switch event {
            case .head(let head): transcript.append("\(head.method.rawValue) \(head.uri) \(head.headers.count)")
            case .body(let buffer): body += String(buffer: buffer)
            case .end:
                if !body.isEmpty { transcript.append("body \(body)") }
                body = ""
                transcript.append("end")
            }
        }
        return transcript
    }

    @Test("requests parse the same however the bytes are split (pipelined, chunked, fixed length)")
    func requestSplitEveryWay() throws {
        let text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n"
            + "PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        let expected = ["GET /a 1", "end", "POST /b 2", "body hello world", "end", "PUT /c 2", "body abc", "end"]
        #expect(try Self.parseRequests(text) == expected)
        for cut in 1..<text.utf8.count {
            #expect(try Self.parseRequests(text, splitAt: [cut]) == expected, "split at \(cut)")
        }
        // Every byte on its own.
        #expect(try Self.parseRequests(text, splitAt: Array(1..<text.utf8.count)) == expected)
    }

    @Test("ambiguous or malformed requests are refused", arguments: [
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\u{1}b\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    ])
    func refused(request: String) {
        #expect(throws: HTTP1RequestParser.ParseError.self) { try Self.parseRequests(request) }
    }

    @Test("an oversized head is 'header too large', not a generic error")
    func headTooLarge() {
        var parser = HTTP1RequestParser(maxHeadBytes: 64)
        var events: [HTTP1RequestParser.Event] = []
        #expect(throws: HTTP1RequestParser.ParseError.headerTooLarge) {
            try parser.feed(ByteBuffer(string: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 100)), into: &events)
        }
    }

    @Test("responses: fixed length, chunked, HEAD and close-delimited framing, split every way")
    func responsesSplitEveryWay() throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nvote\r\n3\r\n!!!\r\n0\r\n\r\n"
        for cut in 0..<chunked.utf8.count {
            var parser = HTTP1ResponseParser()
            parser.expectResponse(toHEAD: false)
            var events: [HTTP1ResponseParser.Event] = []
            let bytes = Array(chunked.utf8)
            try parser.feed(ByteBuffer(bytes: bytes[0..<cut]), into: &events)
            try parser.feed(ByteBuffer(bytes: bytes[cut...]), into: &events)
            var body = ""
            var ended = false
            for event in events {
                if case .body(let b) = event { body += String(buffer: b) }
                if case .end(let reusable) = event {
                    ended = true
                    #expect(reusable)
                }
            }
            #expect(body == "vote!!!", "split at \(cut)")
            #expect(ended)
        }

        var head = HTTP1ResponseParser()
        head.expectResponse(toHEAD: true)
        var events: [HTTP1ResponseParser.Event] = []
        try head.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"), into: &events)
        #expect(events.count == 2)  // head and end: no body after a HEAD

        var close = HTTP1ResponseParser()
        close.expectResponse(toHEAD: false)
        events = []
        try close.feed(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nuntil the end"), into: &events)
        let endedByClose = close.connectionClosed()
        #expect(endedByClose)
        #expect(!close.reusable)
        #expect(events.contains { if case .body(let b) = $0 { return String(buffer: b) == "until the end" } else { return false } })

        var informational = HTTP1ResponseParser()
        informational.expectResponse(toHEAD: false)
        events = []
        try informational.feed(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), into: &events)
        guard case .head(let final) = events.first else { Issue.record("no head"); return }
        #expect(final.status == .noContent)
    }

    @Test("responses with conflicting lengths are errors; CL with TE is not reused")
    func responseFraming() throws {
        var parser = HTTP1ResponseParser()
        parser.expectResponse(toHEAD: false)
        var events: [HTTP1ResponseParser.Event] = []
        #expect(throws: HTTP1ResponseParser.ParseError.self) {
            try parser.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"), into: &events)
        }
        var both = HTTP1ResponseParser()
        both.expectResponse(toHEAD: false)
        events = []
        try both.feed(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), into: &events)
        guard case .end(let reusable) = events.last else { Issue.record("no end"); return }
        #expect(!reusable)
    }

    @Test("serialized heads round-trip through the parsers")
    func roundTrip() throws {
        var request = UpstreamRequestHead(method: .POST, uri: "/register?x=1", headers: HeaderBlock())
        request.headers.add(name: "Host", value: "vote.test")
        request.headers.add(name: "Content-Length", value: "2")
        var bytes = HTTP1Serializer.requestHead(request, allocator: ByteBufferAllocator())
        bytes.writeString("ok")
        #expect(try Self.parseRequests(String(buffer: bytes)) == ["POST /register?x=1 2", "body ok", "end"])

        var response = ResponseHead(status: .created)
        response.headers.add(name: "Content-Length", value: "0")
        let (parsed, info) = try HTTP1ResponseParser.parseHead(
            HTTP1Serializer.responseHead(response, allocator: ByteBufferAllocator()))
        #expect(parsed.status == .created)
        #expect(info.contentLength == 0)
    }
}
