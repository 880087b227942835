import NIOHTTP1
import PnyxCore

/// Adds safe response headers the origin did not set: `X-Content-Type-Options: nosniff`,
/// `X-Frame-Options: SAMEORIGIN`, `Referrer-Policy`, and `Strict-Transport-Security` over HTTPS; removes
/// `X-Powered-By` (it tells attackers which software to aim at).
public final class SecurityHeadersFilter: Filter {
    public let name: FilterName = "security_headers"
    public var phases: PhaseSet { .response }
    public init() {}

    static let allThree: StaticString =
        "x-content-type-options: nosniff\r\nx-frame-options: SAMEORIGIN\r\nreferrer-policy: strict-origin-when-cross-origin\r\n"

    public func response(_ context: RequestContext, head: inout ResponseHead) {
        guard context.site.configuration.securityHeaders else { return }
        // Read in a function of its own: a copy of the block still alive while fields are added would make the
        // block copy itself.
        let has = Self.present(in: head.headers)
        if has.poweredBy { head.headers.remove(name: "x-powered-by") }
        if !has.nosniff && !has.frame && !has.referrer {
            // The usual case: one copy of all three lines.
            head.headers.add(literalLines: Self.allThree)
        } else {
            if !has.nosniff { head.headers.add(literalName: "x-content-type-options", literalValue: "nosniff") }
            if !has.frame { head.headers.add(literalName: "x-frame-options", literalValue: "SAMEORIGIN") }
            if !has.referrer {
                head.headers.add(literalName: "referrer-policy", literalValue: "strict-origin-when-cross-origin")
            }
        }
        if !has.hsts, context.scheme == "https", let maxAge = context.site.configuration.hstsMaxAge {
            head.headers.add(name: "strict-transport-security", value: "max-age=\(maxAge.components.seconds)")
        }
    }

    typealias Present = (nosniff: Bool, frame: Bool, referrer: Bool, hsts: Bool, poweredBy: Bool)

    /// Which of the headers this filter adds (or removes) the origin already sent.
    static func present(in block: HeaderBlock) -> Present {
        var has: Present = (false, false, false, false, false)
        block.forEachLine { name, _, _, _ in
            switch name.count {
            case 22: has.nosniff = has.nosniff || block.name(name, is: "x-content-type-options")
            case 15:
                has.frame = has.frame || block.name(name, is: "x-frame-options")
                has.referrer = has.referrer || block.name(name, is: "referrer-policy")
            case 25: has.hsts = has.hsts || block.name(name, is: "strict-transport-security")
            case 12: has.poweredBy = has.poweredBy || block.name(name, is: "x-powered-by")
            default: break
            }
            return true
        }
        return has
    }
}
