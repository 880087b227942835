import NIOCore
import PnyxCore

/// A stored response as bytes, for the disk tier: a fixed magic, the length of the metadata, the metadata (key,
/// variant, status, header fields, freshness facts, grace) and the body.
///
/// Every field is length-prefixed and checked when read back: a truncated or foreign file decodes to nil, never to a
/// wrong response. Pure: the caller does the file I/O.
public enum StoredRecord {
    static let magic: [UInt8] = Array("PNYXCACHE1\n".utf8)
    /// The bytes before the metadata: the magic and the metadata's length.
    public static let prefixLength = magic.count + 4

    /// The whole record.
    public static func encode(_ object: CachedObject) -> ByteBuffer {
        var meta = ByteBuffer()
        encodeMeta(object, into: &meta)
        var out = ByteBufferAllocator().buffer(capacity: prefixLength + meta.readableBytes + 8 + object.body.readableBytes)
        out.writeBytes(magic)
        out.writeInteger(UInt32(meta.readableBytes))
        out.writeBuffer(&meta)
        out.writeInteger(UInt64(object.body.readableBytes))
        var body = object.body
        out.writeBuffer(&body)
        return out
    }

    /// The metadata's length from a record's first ``prefixLength`` bytes (nil if they are not a record's).
    public static func metaLength(prefix: ByteBuffer) -> Int? {
        guard prefix.readableBytes >= prefixLength,
            prefix.getBytes(at: prefix.readerIndex, length: magic.count) == magic,
            let length = prefix.getInteger(at: prefix.readerIndex + magic.count, as: UInt32.self),
            length < 16 << 20
        else { return nil }
        return Int(length)
    }

    /// What the index needs without the body: key, variant and size.
    public struct Summary: Sendable {
        public let key: CacheKey
        public let vary: VaryKey
    }

    /// The key and variant from a record's metadata (the bytes after the prefix).
    public static func summary(meta: ByteBuffer) -> Summary? {
        var meta = meta
        guard let (key, vary) = readKey(&meta) else { return nil }
        return Summary(key: key, vary: vary)
    }

    /// A whole record back into an object (nil if it is damaged).
    public static func decode(_ record: ByteBuffer) -> CachedObject? {
        var buffer = record
        guard let prefix = buffer.readSlice(length: prefixLength), let length = metaLength(prefix: prefix),
            var meta = buffer.readSlice(length: length),
            let bodyLength = buffer.readInteger(as: UInt64.self), bodyLength == UInt64(buffer.readableBytes),
            let body = buffer.readSlice(length: Int(bodyLength)),
            let (key, vary) = readKey(&meta),
            let status = meta.readInteger(as: UInt16.self),
            let headerCount = meta.readInteger(as: UInt32.self), headerCount < 10_000
        else { return nil }
        var headers = HeaderBlock(capacity: length)
        for _ in 0..<headerCount {
            guard let name = readString(&meta), let value = readString(&meta), headers.add(name: name, value: value) else {
                return nil
            }
        }
        guard let facts = readFacts(&meta, status: Int(status)), let grace = meta.readInteger(as: Int64.self) else {
            return nil
        }
        return CachedObject(
            key: key, vary: vary, status: Int(status), headers: headers, body: body, facts: facts, grace: grace)
    }

    // MARK: metadata

    static func encodeMeta(_ object: CachedObject, into meta: inout ByteBuffer) {
        writeString(object.key.site, into: &meta)
        writeString(object.key.host, into: &meta)
        writeString(object.key.target, into: &meta)
        meta.writeInteger(UInt8(object.vary.matchesNothing ? 1 : 0))
        meta.writeInteger(UInt16(object.vary.values.count))
        for value in object.vary.values {
            writeString(value.name, into: &meta)
            writeOptionalString(value.value, into: &meta)
        }
        meta.writeInteger(UInt16(object.status))
        meta.writeInteger(UInt32(object.headers.count))
        for (name, value) in object.headers {
            writeString(name, into: &meta)
            writeString(value, into: &meta)
        }
        let facts = object.facts
        for value in [facts.date, facts.expires, facts.lastModified, facts.age] { writeOptional(value, into: &meta) }
        meta.writeInteger(UInt8(facts.expiresInvalid ? 1 : 0))
        meta.writeInteger(facts.requestTime)
        meta.writeInteger(facts.responseTime)
        let cc = facts.cacheControl
        for value in [cc.maxAge, cc.sMaxAge, cc.staleWhileRevalidate, cc.staleIfError] {
            writeOptional(value.map(Int64.init), into: &meta)
        }
        let flags: [Bool] = [
            cc.noStore, cc.noCache, cc.isPrivate, cc.isPublic, cc.mustRevalidate, cc.proxyRevalidate, cc.immutable,
            cc.invalidMaxAge,
        ]
        var bits: UInt8 = 0
        for (i, flag) in flags.enumerated() where flag { bits |= 1 << i }
        meta.writeInteger(bits)
        meta.writeInteger(object.grace)
    }

    static func readKey(_ meta: inout ByteBuffer) -> (CacheKey, VaryKey)? {
        guard let site = readString(&meta), let host = readString(&meta), let target = readString(&meta),
            let nothing = meta.readInteger(as: UInt8.self), let count = meta.readInteger(as: UInt16.self)
        else { return nil }
        var values: [VaryKey.VaryValue] = []
        for _ in 0..<count {
            guard let name = readString(&meta), let value = readOptionalString(&meta) else { return nil }
            values.append(VaryKey.VaryValue(name: name, value: value))
        }
        return (CacheKey(site: site, host: host, target: target), VaryKey(values: values, matchesNothing: nothing == 1))
    }

    static func readFacts(_ meta: inout ByteBuffer, status: Int) -> StoredResponseFacts? {
        var optionals: [Int64?] = []
        for _ in 0..<4 {
            guard let value = readOptional(&meta) else { return nil }
            optionals.append(value)
        }
        guard let invalid = meta.readInteger(as: UInt8.self), let requestTime = meta.readInteger(as: Int64.self),
            let responseTime = meta.readInteger(as: Int64.self)
        else { return nil }
        var ccValues: [Int64?] = []
        for _ in 0..<4 {
            guard let value = readOptional(&meta) else { return nil }
            ccValues.append(value)
        }
        guard let bits = meta.readInteger(as: UInt8.self) else { return nil }
        var cc = CacheControl()
        cc.maxAge = ccValues[0].map { Int($0) }
        cc.sMaxAge = ccValues[1].map { Int($0) }
        cc.staleWhileRevalidate = ccValues[2].map { Int($0) }
        cc.staleIfError = ccValues[3].map { Int($0) }
        cc.noStore = bits & 1 != 0
        cc.noCache = bits & 2 != 0
        cc.isPrivate = bits & 4 != 0
        cc.isPublic = bits & 8 != 0
        cc.mustRevalidate = bits & 16 != 0
        cc.proxyRevalidate = bits & 32 != 0
        cc.immutable = bits & 64 != 0
        cc.invalidMaxAge = bits & 128 != 0
        return StoredResponseFacts(
            status: status, cacheControl: cc, date: optionals[0], expires: optionals[1], expiresInvalid: invalid == 1,
            lastModified: optionals[2], age: optionals[3], requestTime: requestTime, responseTime: responseTime)
    }

    // MARK: fields

    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(string.utf8.count))
        buffer.writeString(string)
    }

    static func readString(_ buffer: inout ByteBuffer) -> String? {
        guard let length = buffer.readInteger(as: UInt32.self), length <= buffer.readableBytes else { return nil }
        return buffer.readString(length: Int(length))
    }

    static func writeOptionalString(_ string: String?, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(string == nil ? 0 : 1))
        if let string { writeString(string, into: &buffer) }
    }

    /// `.some(nil)` for an absent value, nil for damaged bytes.
    static func readOptionalString(_ buffer: inout ByteBuffer) -> String?? {
        guard let flag = buffer.readInteger(as: UInt8.self) else { return nil }
        if flag == 0 { return .some(nil) }
        guard let string = readString(&buffer) else { return nil }
        return .some(string)
    }

    static func writeOptional(_ value: Int64?, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(value == nil ? 0 : 1))
        if let value { buffer.writeInteger(value) }
    }

    static func readOptional(_ buffer: inout ByteBuffer) -> Int64?? {
        guard let flag = buffer.readInteger(as: UInt8.self) else { return nil }
        if flag == 0 { return .some(nil) }
        guard let value = buffer.readInteger(as: Int64.self) else { return nil }
        return .some(value)
    }
}
