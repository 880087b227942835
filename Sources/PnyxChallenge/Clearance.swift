import NIOHTTP1

/// The clearance cookie a solved challenge earns: `issuedAt.expires.signature`, signed with the site's key of the
/// day it was issued, bound to the site and the client's address prefix. Checking it is two HMACs over a few dozen
/// bytes: no store, no lock.
public enum Clearance {
    public static let cookieName = "pnyx_clearance"

    static func message(site: String, prefix: String, issuedAt: Int64, expires: Int64) -> String {
        "k1|\(site)|\(prefix)|\(issuedAt)|\(expires)"
    }

    public static func mint(keys: ChallengeKeys, site: String, prefix: String, now: Int64, lifetime: Int64) -> String {
        let expires = now + lifetime
        return "\(now).\(expires).\(keys.sign(message(site: site, prefix: prefix, issuedAt: now, expires: expires), site: site, time: now))"
    }

    /// The `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age`, and `Secure` over HTTPS (a browser
    /// drops a `Secure` cookie set over plain HTTP).
    public static func setCookie(_ value: String, lifetime: Int64, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/; Max-Age=\(lifetime); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// Whether `value` is a valid, unexpired clearance for this site and client.
    public static func isValid(_ value: Substring, keys: ChallengeKeys, site: String, prefix: String, now: Int64) -> Bool {
        validExpiry(value, keys: keys, site: site, prefix: prefix, now: now) != nil
    }

    /// When a valid clearance expires (nil if it is not valid now).
    public static func validExpiry(_ value: Substring, keys: ChallengeKeys, site: String, prefix: String, now: Int64) -> Int64? {
        let parts = value.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let issuedAt = Int64(parts[0]), let expires = Int64(parts[1]),
            expires > now, issuedAt <= now + 5, expires - issuedAt <= ChallengeKeys.epochSeconds
        else { return nil }
        let expected = keys.sign(message(site: site, prefix: prefix, issuedAt: issuedAt, expires: expires), site: site, time: issuedAt)
        return constantTimeEqual(parts[2], expected) ? expires : nil
    }

    /// The clearance cookie's value in a request's `Cookie` fields, if any (no copy).
    public static func find(in headers: HTTPHeaders) -> Substring? {
        for (name, value) in headers where name.utf8.count == 6 && name.lowercased() == "cookie" {
            if let found = find(inLine: value) { return found }
        }
        return nil
    }

    /// The clearance cookie's value among a request's `Cookie` lines, if any.
    public static func find(in cookieLines: [String]) -> Substring? {
        for line in cookieLines {
            if let found = find(inLine: line) { return found }
        }
        return nil
    }

    static let prefixWithEquals = cookieName + "="

    static func find(inLine line: String) -> Substring? {
        var rest = line[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: ";") ?? rest.endIndex
            var pair = rest[..<end]
            while pair.first == " " { pair = pair.dropFirst() }
            if pair.hasPrefix(prefixWithEquals) { return pair.dropFirst(prefixWithEquals.utf8.count) }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        return nil
    }
}
