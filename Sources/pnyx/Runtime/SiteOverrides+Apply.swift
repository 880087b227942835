import PnyxConfig
import PnyxControl
import PnyxCore
import Synchronization

extension SiteOverrides {
    /// The configuration with the settings staff changed from the dashboard or API on top of the YAML.
    func apply(to configuration: PnyxConfiguration) -> PnyxConfiguration {
        var configuration = configuration
        for i in configuration.sites.indices {
            let name = configuration.sites[i].name.rawValue
            if let value = value(site: name, .underAttack) { configuration.sites[i].challenge.underAttack = value == "true" }
            if let value = value(site: name, .wafMode), let mode = WAFPolicy.Mode(rawValue: value) {
                configuration.sites[i].waf.mode = mode
            }
            if let value = value(site: name, .rateLimitScale), let factor = Double(value) {
                for r in configuration.sites[i].rateLimits.indices {
                    let scaled = Double(configuration.sites[i].rateLimits[r].requests) * factor
                    configuration.sites[i].rateLimits[r].requests = min(65_535, max(1, Int(scaled.rounded())))
                }
            }
            if let value = value(site: name, .wafExclusions) {
                configuration.sites[i].waf.exclusions += value.split(separator: "\n").compactMap { WAFPolicy.Exclusion(line: String($0)) }
            }
        }
        return configuration
    }
}

/// The stored site settings in effect (read by the admin side without touching the database).
final class OverridesInEffect: Sendable {
    private let value = Mutex(SiteOverrides())
    var current: SiteOverrides { value.withLock { $0 } }
    func set(_ overrides: SiteOverrides) { value.withLock { $0 = overrides } }
}
