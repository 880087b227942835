/// What a staff account may do. Every admin route and page names the permission it needs and, for a site's
/// data, the site; ``Principal/allows(_:site:)`` decides.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// Sees and changes every site, manages users and tokens, reloads the configuration.
    case stateAdmin = "state_admin"
    /// Sees and changes only the sites named on the account.
    case countyAdmin = "county_admin"
    /// Reads only: the named sites, or every site if none are named.
    case viewer

    public var label: String {
        switch self {
        case .stateAdmin: return "State administrator"
        case .countyAdmin: return "County administrator"
        case .viewer: return "Viewer"
        }
    }
}

public enum Permission: String, Sendable, Codable {
    /// Read a site's events, statistics and settings.
    case read
    /// Change a site on the night: under-attack mode, WAF mode, purge and publish, bans, integrity approvals.
    case operate
    /// Users, API tokens, reload, anything that is not one site's.
    case administer
}

/// Who is making a request, after authentication.
public struct Principal: Sendable, Equatable {
    public enum Via: String, Sendable { case session, token, root, cli }

    public var name: String
    public var role: Role
    /// The sites the account is scoped to; empty means every site (state administrators, state-wide viewers).
    public var sites: Set<String>
    public var via: Via

    public init(name: String, role: Role, sites: Set<String>, via: Via) {
        self.name = name
        self.role = role
        self.sites = role == .stateAdmin ? [] : sites
        self.via = via
    }

    /// The local root: the admin token in the data directory (used by `pnyx reload` and the other CLI calls).
    public static let root = Principal(name: "root", role: .stateAdmin, sites: [], via: .root)

    public var seesAllSites: Bool { sites.isEmpty }

    public func canSee(site: String) -> Bool { sites.isEmpty || sites.contains(site) }

    /// Whether the principal holds `permission`, for `site` when the action concerns one site.
    public func allows(_ permission: Permission, site: String?) -> Bool {
        switch permission {
        case .read:
            return site.map(canSee) ?? true
        case .operate:
            switch role {
            case .stateAdmin: return true
            case .countyAdmin: return site.map { sites.contains($0) } ?? false
            case .viewer: return false
            }
        case .administer:
            return role == .stateAdmin
        }
    }
}
