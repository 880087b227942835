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
        let parts = value.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let issuedAt = Int64(parts[0]), let expires = Int64(parts[1]),
            expires > now, issuedAt <= now + 5, expires - issuedAt <= ChallengeKeys.epochSeconds
        else { return false }
        let expected = keys.sign(message(site: site, prefix: prefix, issuedAt: issuedAt, expires: expires), site: site, time: issuedAt)
        return constantTimeEqual(parts[2], expected)
    }

    /// The clearance cookie's value among a request's `Cookie` lines, if any.
    public static func find(in cookieLines: [String]) -> Substring? {
        for line in cookieLines {
            var rest = line[...]
            while !rest.isEmpty {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                var pair = rest[..<end]
                while pair.first == " " { pair = pair.dropFirst() }
                if pair.hasPrefix(cookieName + "=") { return pair.dropFirst(cookieName.utf8.count + 1) }
                rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            }
        }
        return nil
    }
}
