import CMaxMindDB
import PnyxCore

#if canImport(Glibc)
import Glibc
#endif

/// A MaxMind-format country database (`.mmdb`: GeoLite2-Country, GeoIP2-Country, DB-IP's country lite, …) read
/// with libmaxminddb. Opened memory-mapped once; lookups are read-only and safe from every event loop.
public final class CountryDatabase: @unchecked Sendable {
    public struct OpenError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let path: String
    /// The database's own description of itself, e.g. `GeoLite2-Country`.
    public let databaseType: String
    private let mmdb: UnsafeMutablePointer<MMDB_s>

    public init(path: String) throws {
        self.path = path
        mmdb = .allocate(capacity: 1)
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), mmdb)
        guard status == MMDB_SUCCESS else {
            mmdb.deallocate()
            let reason = String(cString: MMDB_strerror(status))
            let detail = status == MMDB_IO_ERROR ? " (\(String(cString: strerror(errno))))" : ""
            throw OpenError(description: "cannot open the country database '\(path)': \(reason)\(detail)")
        }
        databaseType = mmdb.pointee.metadata.database_type.map { String(cString: $0) } ?? "unknown"
    }

    deinit {
        MMDB_close(mmdb)
        mmdb.deallocate()
    }

    /// The ISO 3166-1 alpha-2 country of `address` (`country.iso_code`, else `registered_country.iso_code`), or
    /// nil when the database does not know it (private and reserved ranges, gaps).
    public func country(of address: IPAddress) -> CountryCode? {
        var error: Int32 = 0
        let result: MMDB_lookup_result_s
        if let v4 = address.ipv4Value {
            var socket = sockaddr_in()
            socket.sin_family = sa_family_t(AF_INET)
            socket.sin_addr.s_addr = v4.bigEndian
            result = withUnsafePointer(to: &socket) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &error) }
            }
        } else {
            var socket = sockaddr_in6()
            socket.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &socket.sin6_addr) { raw in
                for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: address.high >> (56 - 8 * UInt64(i))) }
                for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: address.low >> (56 - 8 * UInt64(i))) }
            }
            result = withUnsafePointer(to: &socket) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &error) }
            }
        }
        guard error == MMDB_SUCCESS, result.found_entry else { return nil }
        var entry = result.entry
        return Self.isoCode(&entry, "country") ?? Self.isoCode(&entry, "registered_country")
    }

    private static func isoCode(_ entry: inout MMDB_entry_s, _ key: String) -> CountryCode? {
        var data = MMDB_entry_data_s()
        let status = key.withCString { first in
            "iso_code".withCString { second in
                let path: [UnsafePointer<CChar>?] = [first, second, nil]
                return path.withUnsafeBufferPointer { MMDB_aget_value(&entry, &data, $0.baseAddress) }
            }
        }
        guard status == MMDB_SUCCESS, data.has_data, data.type == UInt32(MMDB_DATA_TYPE_UTF8_STRING), data.data_size == 2
        else { return nil }
        let bytes = UnsafeRawPointer(data.utf8_string).assumingMemoryBound(to: UInt8.self)
        return CountryCode(bytes[0], bytes[1])
    }
}
