import PnyxControl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The secret that authorizes admin API calls until staff accounts exist: 32 random bytes, hex, kept in
/// `<data_dir>/admin.token` with mode 0600. `pnyx reload` reads it from there.
public struct AdminToken: Sendable, Equatable {
    public let value: String

    public init(value: String) { self.value = value }

    public static func path(dataDirectory: String) -> String { "\(dataDirectory)/admin.token" }

    /// Reads the token, creating it if it does not exist.
    public static func loadOrCreate(dataDirectory: String) throws -> AdminToken {
        let path = path(dataDirectory: dataDirectory)
        if let existing = read(path: path) { return existing }
        let hex = Secrets.hex(Secrets.bytes(32))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AdminTokenError(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = hex + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        return AdminToken(value: hex)
    }

    public static func read(path: String) -> AdminToken? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let trimmed = text.filter { !$0.isWhitespace }
        return trimmed.count >= 32 ? AdminToken(value: trimmed) : nil
    }

    /// Compares in constant time.
    public func matches(_ presented: Substring) -> Bool { Secrets.equal(Array(value.utf8), Array(presented.utf8)) }
}

public struct AdminTokenError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
