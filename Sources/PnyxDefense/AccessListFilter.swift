import PnyxCore

/// Allow and deny lists by client address, global and per site.
///
/// - connection phase: a TCP peer on the global deny list (and not on the global allow list) is refused before a
///   byte is read, unless it is a trusted proxy (then the real client is only known from its headers).
/// - requestHead phase: the client address (after trusted proxies) is checked against the global and the site's
///   lists. Allow wins over deny and marks the request `allowListed`, which later protections respect.
public struct AccessListFilter: Filter {
    public let name: FilterName = "access_list"
    public var phases: PhaseSet { [.connection, .requestHead] }

    struct Lists: Sendable {
        let allow: AddressRangeSet
        let deny: AddressRangeSet
        init(_ rules: AccessRules) {
            allow = AddressRangeSet(rules.allow)
            deny = AddressRangeSet(rules.deny)
        }
    }

    private let global: Lists
    private let trustedProxies: AddressRangeSet
    private let sites: [ObjectIdentifier: Lists]

    public init(global: AccessRules, trustedProxies: [CIDR], sites: [Site]) {
        self.global = Lists(global)
        self.trustedProxies = AddressRangeSet(trustedProxies)
        var lists: [ObjectIdentifier: Lists] = [:]
        for site in sites where !site.configuration.access.isEmpty {
            lists[ObjectIdentifier(site)] = Lists(site.configuration.access)
        }
        self.sites = lists
    }

    /// Whether the filter has anything to check (an empty filter is left out of the chain).
    public var isEmpty: Bool { global.allow.isEmpty && global.deny.isEmpty && sites.isEmpty }

    public func connection(_ connection: ConnectionInfo) -> Verdict {
        guard !global.deny.isEmpty, let peer = connection.peer, global.deny.contains(peer),
            !global.allow.contains(peer), !trustedProxies.contains(peer)
        else { return .continue }
        return .block(
            Block(
                status: .forbidden, filter: name, rule: "deny", message: "Access from your network is not allowed.",
                closeConnection: true))
    }

    public func requestHead(_ context: RequestContext) -> Verdict {
        guard let address = context.client.address else { return .continue }
        let site = sites[ObjectIdentifier(context.site)]
        if global.allow.contains(address) || (site?.allow.contains(address) ?? false) {
            context.allowListed = true
            return .continue
        }
        if global.deny.contains(address) || (site?.deny.contains(address) ?? false) {
            return .block(
                Block(
                    status: .forbidden, filter: name, rule: "deny",
                    message: "Access to this site from your network is not allowed. If you believe this is a mistake, contact the election office.",
                    evidence: context.client.addressText))
        }
        return .continue
    }
}
