import NIOCore
import NIOHTTP1

/// HTTP header fields kept as the bytes that go on the wire: `name: value\r\n` lines in one `ByteBuffer`.
///
/// The data path moves heads from one socket to another; most fields are only passed on, never read. Keeping
/// them as bytes means one allocation per head instead of two `String`s per field, and writing a head is one
/// copy. Lookups scan the lines (a head has a dozen or so) and compare names without allocating; a `String` is
/// made only for a value that is asked for.
///
/// Every line in the block is well formed: a token name, a value without CR, LF or NUL and without surrounding
/// whitespace. `add` refuses anything else, so a filter cannot split a header into two.
public struct HeaderBlock: Sendable, Sequence, CustomStringConvertible {
    /// The field lines, each ending in CRLF (no final empty line).
    public private(set) var bytes: ByteBuffer

    public init(capacity: Int = 256) {
        bytes = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Lines that are already known to be well formed (the parsers' output).
    public init(validatedBytes: ByteBuffer) {
        bytes = validatedBytes
    }

    public init(_ headers: HTTPHeaders) {
        self.init(capacity: 64 + headers.count * 32)
        for (name, value) in headers { add(name: name, value: value) }
    }

    /// NIO's header list with the same fields in the same order (for HTTP/2 and tests).
    public var httpHeaders: HTTPHeaders {
        var out: [(String, String)] = []
        out.reserveCapacity(16)
        for (name, value) in self { out.append((name, value)) }
        return HTTPHeaders(out)
    }

    public var isEmpty: Bool { bytes.readableBytes == 0 }

    /// Number of field lines.
    public var count: Int {
        var n = 0
        forEachLine { _, _, _, _ in n += 1; return true }
        return n
    }

    // MARK: adding and removing

    /// Appends a field. Returns false (and adds nothing) for a name that is not a token or a value with CR, LF
    /// or NUL. Surrounding whitespace in the value is dropped.
    @discardableResult
    public mutating func add(name: String, value: String) -> Bool {
        add(name: name, prefix: nil, value: value)
    }

    /// Appends `name: prefix, value` (or `name: value` without a prefix): how proxies extend a list such as
    /// `X-Forwarded-For` without building the joined `String` first. Same checks as `add(name:value:)`.
    @discardableResult
    public mutating func add(name: String, prefix: String?, value: String) -> Bool {
        guard Self.isValidName(name), Self.isValidValue(value), prefix.map(Self.isValidValue) ?? true else {
            return false
        }
        bytes.writeString(name)
        bytes.writeColonSpace()
        if let prefix {
            Self.writeTrimmed(prefix, into: &bytes)
            bytes.writeStaticString(", ")
        }
        Self.writeTrimmed(value, into: &bytes)
        bytes.writeCRLF()
        return true
    }

    /// Appends `name: hex-id`, the 16 hex digits of a request ID.
    public mutating func add(literalName name: StaticString, hex value: UInt64) {
        bytes.writeStaticString(name)
        bytes.writeColonSpace()
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: 16) { raw in
            let digits: StaticString = "0123456789abcdef"
            var v = value
            for i in stride(from: 15, through: 0, by: -1) {
                raw[i] = digits.utf8Start[Int(v & 0xF)]
                v >>= 4
            }
            return 16
        }
        bytes.writeCRLF()
    }

    /// No CR, LF or NUL: the value cannot end its line early.
    @inline(__always)
    public static func isValidValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            for b in bytes where b == 0 || b == 10 || b == 13 { return false }
            return true
        }
    }

    @inline(__always)
    static func writeTrimmed(_ value: String, into buffer: inout ByteBuffer) {
        var value = value
        value.withUTF8 { bytes in
            var start = 0, end = bytes.count
            while start < end && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
            while end > start && (bytes[end - 1] == 32 || bytes[end - 1] == 9) { end -= 1 }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
    }

    /// Appends a field with a compile-time name (known to be a token): only the value is checked, in the same
    /// pass that copies it. Returns false (and adds nothing) for a value with CR, LF or NUL.
    @discardableResult
    public mutating func add(literalName name: StaticString, value: String) -> Bool {
        var value = value
        return value.withUTF8 { v in
            for b in v where b == 0 || b == 10 || b == 13 { return false }
            var start = 0, end = v.count
            while start < end && (v[start] == 32 || v[start] == 9) { start += 1 }
            while end > start && (v[end - 1] == 32 || v[end - 1] == 9) { end -= 1 }
            bytes.writeStaticString(name)
            bytes.writeColonSpace()
            bytes.writeBytes(UnsafeBufferPointer(rebasing: v[start..<end]))
            bytes.writeCRLF()
            return true
        }
    }

    /// Appends complete field lines written at compile time (each `name: value\r\n`).
    public mutating func add(literalLines lines: StaticString) {
        bytes.writeStaticString(lines)
    }

    /// Appends a field whose name and value are known to be valid at compile time (no checks, no `String`).
    public mutating func add(literalName name: StaticString, literalValue value: StaticString) {
        bytes.writeStaticString(name)
        bytes.writeColonSpace()
        bytes.writeStaticString(value)
        bytes.writeCRLF()
    }

    /// Appends the field lines of another block.
    public mutating func append(_ other: HeaderBlock) {
        var other = other.bytes
        bytes.writeBuffer(&other)
    }

    /// Removes every field with this name (case-insensitive).
    public mutating func remove(name: String) {
        guard contains(name: name) else { return }
        var kept = ByteBufferAllocator().buffer(capacity: bytes.readableBytes)
        let source = bytes
        forEachLine(in: source) { nameRange, _, lineStart, lineEnd in
            if !Self.name(in: source, nameRange, equals: name) {
                kept.writeImmutableBuffer(source.getSlice(at: lineStart, length: lineEnd - lineStart)!)
            }
            return true
        }
        bytes = kept
    }

    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    // MARK: reading

    /// The byte range of the first value of the field with this name (case-insensitive).
    @inline(__always)
    func firstValueRange(name: String) -> Range<Int>? {
        var result: Range<Int>?
        let source = bytes
        forEachLine(in: source) { nameRange, valueRange, _, _ in
            guard Self.name(in: source, nameRange, equals: name) else { return true }
            result = valueRange
            return false
        }
        return result
    }

    public func contains(name: String) -> Bool {
        firstValueRange(name: name) != nil
    }

    /// The first value of the field with this name (case-insensitive).
    public func first(name: String) -> String? {
        firstValueRange(name: name).map(value)
    }

    /// The first value of the field with this name read as a non-negative decimal integer (e.g.
    /// `Content-Length`), without making a `String`. `nil` when absent or not all digits.
    public func firstInteger(name: String) -> Int? {
        guard let range = firstValueRange(name: name), !range.isEmpty, range.count <= 18 else { return nil }
        return bytes.withUnsafeReadableBytes { raw -> Int? in
            var n = 0
            for k in (range.lowerBound - bytes.readerIndex)..<(range.upperBound - bytes.readerIndex) {
                let b = raw[k]
                guard b >= 48 && b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
    }

    /// Every value of the field with this name, in order (like `HTTPHeaders`' subscript).
    public subscript(name: String) -> [String] { values(name: name) }

    /// Every value of the field with this name, in order.
    public func values(name: String) -> [String] {
        var result: [String] = []
        let source = bytes
        forEachLine(in: source) { nameRange, valueRange, _, _ in
            if Self.name(in: source, nameRange, equals: name) {
                result.append(source.getString(at: valueRange.lowerBound, length: valueRange.count) ?? "")
            }
            return true
        }
        return result
    }

    public struct Iterator: IteratorProtocol {
        let source: ByteBuffer
        var index: Int
        public mutating func next() -> (name: String, value: String)? {
            guard index < source.writerIndex else { return nil }
            var result: (String, String)?
            let start = index
            source.withUnsafeReadableBytes { raw in
                let base = start - source.readerIndex
                var i = base
                while i < raw.count && raw[i] != 58 { i += 1 }
                let colon = i
                while i < raw.count && raw[i] != 13 { i += 1 }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[base..<colon]), as: UTF8.self)
                let valueStart = Swift.min(colon + 2, i)
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<i]), as: UTF8.self)
                result = (name, value)
                index = source.readerIndex + i + 2
            }
            return result
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(source: bytes, index: bytes.readerIndex)
    }

    public var description: String { String(buffer: bytes) }

    // MARK: scanning

    /// Calls `body` for each field with the byte ranges of its name and value in `bytes` and the range of its
    /// whole line, until `body` returns false. Nothing is allocated; see `name(_:is:)` and `value(_:)`.
    @inline(__always)
    public func forEachLine(_ body: (_ name: Range<Int>, _ value: Range<Int>, _ lineStart: Int, _ lineEnd: Int) -> Bool) {
        forEachLine(in: bytes, body)
    }

    /// Whether the name at `range` (from `forEachLine`) equals `lower`, ignoring ASCII case.
    @inline(__always)
    public func name(_ range: Range<Int>, is lower: StaticString) -> Bool {
        guard range.count == lower.utf8CodeUnitCount else { return false }
        let target = lower.utf8Start
        return bytes.withUnsafeReadableBytes { raw in
            let base = range.lowerBound - bytes.readerIndex
            for k in 0..<range.count {
                let b = raw[base + k]
                let l = b >= 65 && b <= 90 ? b | 0x20 : b
                if l != target[k] { return false }
            }
            return true
        }
    }

    /// The value at `range` (from `forEachLine`) as a `String`.
    public func value(_ range: Range<Int>) -> String {
        bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    @inline(__always)
    func forEachLine(in source: ByteBuffer, _ body: (Range<Int>, Range<Int>, Int, Int) -> Bool) {
        let offset = source.readerIndex
        source.withUnsafeReadableBytes { raw in
            var i = 0
            let count = raw.count
            while i < count {
                let lineStart = i
                while i < count && raw[i] != 58 { i += 1 }
                let colon = i
                while i < count && raw[i] != 13 { i += 1 }
                let valueStart = Swift.min(colon + 2, i)
                let lineEnd = Swift.min(i + 2, count)
                if !body(
                    (offset + lineStart)..<(offset + colon), (offset + valueStart)..<(offset + i), offset + lineStart,
                    offset + lineEnd)
                {
                    return
                }
                i = lineEnd
            }
        }
    }

    @inline(__always)
    static func name(in source: ByteBuffer, _ range: Range<Int>, equals name: String) -> Bool {
        guard range.count == name.utf8.count else { return false }
        var name = name
        return name.withUTF8 { target in
            source.withUnsafeReadableBytes { raw in
                let base = range.lowerBound - source.readerIndex
                for k in 0..<target.count {
                    let a = raw[base + k], b = target[k]
                    if a != b && (a | 0x20 != b | 0x20 || !((a | 0x20) >= 97 && (a | 0x20) <= 122)) { return false }
                }
                return true
            }
        }
    }

    /// A header name must be a token (RFC 9110 §5.1).
    @inline(__always)
    public static func isValidName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            for b in bytes where !isTokenByte(b) { return false }
            return true
        }
    }

    /// tchar (RFC 9110 §5.6.2) as two bitmasks over ASCII: `!#$%&'*+-.^_`|~`, digits and letters.
    @inlinable @inline(__always)
    public static func isTokenByte(_ b: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000  // 0-63: ! # $ % & ' * + - . 0-9
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // 64-127: A-Z ^ _ ` a-z | ~
        if b < 64 { return low & (1 << UInt64(b)) != 0 }
        if b < 128 { return high & (1 << UInt64(b - 64)) != 0 }
        return false
    }
}

/// A response head as the filters see it: status and byte-backed fields.
public struct ResponseHead: Sendable {
    public var version: HTTPVersion
    public var status: HTTPResponseStatus
    public var headers: HeaderBlock

    public init(version: HTTPVersion = .http1_1, status: HTTPResponseStatus, headers: HeaderBlock = HeaderBlock()) {
        self.version = version
        self.status = status
        self.headers = headers
    }

    /// NIO's head type (for the HTTP/2 codec).
    public var httpResponseHead: HTTPResponseHead {
        HTTPResponseHead(version: version, status: status, headers: headers.httpHeaders)
    }
}

/// The request Pnyx sends to the origin: method, target and byte-backed fields.
public struct UpstreamRequestHead: Sendable {
    public var method: HTTPMethod
    public var uri: String
    public var headers: HeaderBlock

    public init(method: HTTPMethod, uri: String, headers: HeaderBlock) {
        self.method = method
        self.uri = uri
        self.headers = headers
    }
}

extension ByteBuffer {
    /// `\r\n` as one integer store (cheaper than a two-byte `writeStaticString`).
    @inline(__always)
    public mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A))
    }

    /// `: ` between a field name and its value.
    @inline(__always)
    public mutating func writeColonSpace() {
        writeInteger(UInt16(0x3A20))
    }
}
