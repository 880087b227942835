/// A site's integrity settings (`integrity:` on a site): which responses are signed, and what Pnyx does when a
/// pinned page or asset changes at the origin.
///
/// A new site signs nothing and pins nothing; pinned paths are compared in `monitor` mode unless told otherwise.
public struct IntegrityPolicy: Sendable, Equatable {
    /// What happens when a pinned path's origin response differs from its approved baseline.
    public enum Mode: String, Sendable, Equatable {
        /// Serve the origin's version and raise an alert.
        case monitor
        /// Serve the approved version, raise an alert, and hold the new version for approval.
        case protect
    }

    /// What Pnyx does with the scripts a site's pages load.
    public enum ScriptMode: String, Sendable, Equatable {
        /// Nothing.
        case off
        /// Keep an inventory (pages Pnyx serves are scanned, browsers report through a
        /// `Content-Security-Policy-Report-Only` header), and raise events for new, changed and known-bad scripts.
        case report
        /// The inventory, and an enforced `Content-Security-Policy` that lets only approved scripts run: Pnyx
        /// puts a per-response nonce on the approved script tags and SRI `integrity` on the approved own scripts.
        case enforce
    }

    /// A part of a page that legitimately changes, left out of the comparison.
    public enum Ignore: Sendable, Equatable {
        /// The contents of elements matching a simple CSS selector (`#updated`, `.timestamp`, `span.clock`,
        /// `input[name=csrf_token]`; for a void element such as `input`, its `value`).
        case selector(String)
        /// Everything between two literal markers (`<!-- live -->` … `<!-- /live -->`).
        case between(String, String)
        /// Dates and times (`2026-11-03`, `11/03/2026`, `14:05:09`): every one on the page.
        case timestamps
        /// `nonce="…"` attributes and the values of hidden inputs named like a CSRF token.
        case tokens
    }

    /// Responses under these paths carry `Content-Digest` and an HTTP Message Signature, and each new version is
    /// appended to the site's public log.
    public var signedPaths: [PathPattern] = []
    /// The mode of pinned paths not named in ``protect`` or ``monitor``.
    public var mode: Mode = .monitor
    /// Pinned paths that are always protected / always only monitored, whatever ``mode`` says.
    public var protect: [PathPattern] = []
    public var monitor: [PathPattern] = []
    /// Parts of pages left out of the comparison. Tokens (nonces, CSRF values) are ignored unless the list is
    /// given. `timestamps` is not a default: it blanks every date and time on a page, including a polling date a
    /// defacement changed; a selector for the page's "last updated" element is the safer rule.
    public var ignore: [Ignore] = [.tokens]
    /// The script inventory (on by default, report only).
    public var scripts: ScriptMode = .report
    /// The largest body compared or signed; longer responses pass unchanged (and are recorded as such).
    public var maxBodyBytes = 4 * 1024 * 1024

    public init() {}

    /// Whether `path` is signed.
    public func isSigned(_ path: Substring) -> Bool {
        !signedPaths.isEmpty && signedPaths.contains { $0.matches(path) }
    }

    /// The mode for a pinned `path`.
    public func mode(for path: Substring) -> Mode {
        if protect.contains(where: { $0.matches(path) }) { return .protect }
        if monitor.contains(where: { $0.matches(path) }) { return .monitor }
        return mode
    }
}
