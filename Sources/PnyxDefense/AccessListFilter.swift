import PnyxCore

/// Allow and deny lists by client address, global and per site.
///
/// - connection phase: a TCP peer on the global deny list (and not on the global allow list) is refused before a
///   byte is read, unless it is a trusted proxy (then the real client is only known from its headers).
/// - requestHead phase: the client address (after trusted proxies) is checked against the global and the site's
///   lists, then its country (from the country database) against their country rules. Allow wins over deny and
///   countries and marks the request `allowListed`, which later protections respect. A client the database
///   cannot place is never refused by a country rule.
public final class AccessListFilter: Filter {
    public let name: FilterName = "access_list"
    public var phases: PhaseSet { [.connection, .requestHead] }

    struct Lists: Sendable {
        let allow: AddressRangeSet
        let deny: AddressRangeSet
        let allowCountries: Set<CountryCode>
        let denyCountries: Set<CountryCode>
        init(_ rules: AccessRules) {
            allow = AddressRangeSet(rules.allow)
            deny = AddressRangeSet(rules.deny)
            allowCountries = Set(rules.allowCountries)
            denyCountries = Set(rules.denyCountries)
        }
        var hasCountryRules: Bool { !allowCountries.isEmpty || !denyCountries.isEmpty }

        /// Whether these lists refuse a client located in `country`.
        func refuses(_ country: CountryCode) -> Bool {
            denyCountries.contains(country) || (!allowCountries.isEmpty && !allowCountries.contains(country))
        }
    }

    private let global: Lists
    private let trustedProxies: AddressRangeSet
    private let sites: SiteTable<Lists>
    private let countries: CountryDatabase?

    /// - Parameter countries: the country database; required when any list has country rules (the configuration
    ///   check makes sure of it), ignored otherwise.
    public init(global: AccessRules, trustedProxies: [CIDR], sites: [Site], countries: CountryDatabase? = nil) {
        self.global = Lists(global)
        self.countries = countries
        self.trustedProxies = AddressRangeSet(trustedProxies)
        self.sites = SiteTable(sites) { $0.configuration.access.isEmpty ? nil : Lists($0.configuration.access) }
    }

    /// Whether the filter has anything to check (an empty filter is left out of the chain).
    public var isEmpty: Bool { global.allow.isEmpty && global.deny.isEmpty && !global.hasCountryRules && sites.isEmpty }

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
        let site = sites[context.site]
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
        if let countries, global.hasCountryRules || (site?.hasCountryRules ?? false),
            let country = countries.country(of: address),
            global.refuses(country) || (site?.refuses(country) ?? false)
        {
            return .block(
                Block(
                    status: .forbidden, filter: name, rule: "country",
                    message: "Access to this site from your location is not allowed. If you believe this is a mistake, contact the election office.",
                    evidence: "\(context.client.addressText) located in \(country)"))
        }
        return .continue
    }
}
