import NIOHTTP1
import PnyxCore

/// Adds safe response headers the origin did not set: `X-Content-Type-Options: nosniff`,
/// `X-Frame-Options: SAMEORIGIN`, `Referrer-Policy`, and `Strict-Transport-Security` over HTTPS; removes
/// `X-Powered-By` (it tells attackers which software to aim at).
public struct SecurityHeadersFilter: Filter {
    public let name: FilterName = "security_headers"
    public var phases: PhaseSet { .response }
    public init() {}

    public func response(_ context: RequestContext, head: inout HTTPResponseHead) {
        let site = context.site.configuration
        guard site.securityHeaders else { return }
        var has = (nosniff: false, frame: false, referrer: false, hsts: false, poweredBy: false)
        for (name, _) in head.headers {
            switch name.utf8.count {
            case 22 where name.lowercased() == "x-content-type-options": has.nosniff = true
            case 15 where name.lowercased() == "x-frame-options": has.frame = true
            case 15 where name.lowercased() == "referrer-policy": has.referrer = true
            case 25 where name.lowercased() == "strict-transport-security": has.hsts = true
            case 12 where name.lowercased() == "x-powered-by": has.poweredBy = true
            default: break
            }
        }
        if !has.nosniff { head.headers.add(name: "x-content-type-options", value: "nosniff") }
        if !has.frame { head.headers.add(name: "x-frame-options", value: "SAMEORIGIN") }
        if !has.referrer { head.headers.add(name: "referrer-policy", value: "strict-origin-when-cross-origin") }
        if has.poweredBy { head.headers.remove(name: "x-powered-by") }
        if !has.hsts, context.scheme == "https", let maxAge = site.hstsMaxAge {
            head.headers.add(name: "strict-transport-security", value: "max-age=\(maxAge.components.seconds)")
        }
    }
}
