import PnyxCore
import Synchronization

/// Builds a ``RuleSet`` for a site's ``WAFPolicy``: Pnyx's base settings, the CRS set-up file, the policy's paranoia
/// level and thresholds, its exclusions, CRS's rule files (unmodified) and any extra SecLang files.
///
/// Rule sets are shared: sites with the same policy get the same instance, and a reload reuses a set whose policy
/// and files did not change. Loading runs in the reload task, never on an event loop.
public final class WAFRuleSets: Sendable {
    private let loaded = Mutex<[WAFPolicy: RuleSet]>([:])

    public init() {}

    public func ruleSet(for policy: WAFPolicy) throws(SecLangError) -> RuleSet {
        if let existing = loaded.withLock({ $0[policy] }) { return existing }
        let ruleSet = try Self.load(policy)
        loaded.withLock { table in
            if table.count > 64 { table.removeAll() }
            table[policy] = ruleSet
        }
        return ruleSet
    }

    /// The CRS set-up file a policy uses.
    public static func setupFile(for policy: WAFPolicy) -> String? {
        if let file = policy.setupFile { return file }
        let candidates = ["/etc/modsecurity/crs/crs-setup.conf", policy.rulesDirectory + "/crs-setup.conf",
                          policy.rulesDirectory + "/crs-setup.conf.example"]
        return candidates.first { readTextFile($0) != nil }
    }

    public static func load(_ policy: WAFPolicy) throws(SecLangError) -> RuleSet {
        var loader = RuleSetLoader()
        let engine = policy.mode == .block ? "On" : "DetectionOnly"
        try loader.add(text: BaseRules.text + "\nSecRuleEngine \(engine)\n", file: "<pnyx base rules>", directory: policy.rulesDirectory)
        // The native engine needs only the body processors (and the malformed-body rules), not CRS.
        if policy.engine == .native { return try loader.finish() }
        guard let setup = setupFile(for: policy) else {
            throw SecLangError(SourceLocation(file: policy.rulesDirectory, line: 0), "no crs-setup.conf found (set waf.setup)")
        }
        try loader.add(file: setup)
        try loader.add(text: settings(policy), file: "<pnyx waf settings>", directory: policy.rulesDirectory)
        let ruleFiles = RuleSetLoader.expand(policy.rulesDirectory + "/rules/*.conf")
        if ruleFiles.isEmpty {
            throw SecLangError(SourceLocation(file: policy.rulesDirectory + "/rules", line: 0), "no CRS rule files (*.conf) here")
        }
        for file in ruleFiles { try loader.add(file: file) }
        try loader.add(text: exclusionsAfter(policy), file: "<pnyx waf exclusions>", directory: policy.rulesDirectory)
        for file in policy.extraRules { try loader.add(file: file) }
        return try loader.finish()
    }

    /// Paranoia level and thresholds (CRS v4 and 3.3 names), and the path-scoped exclusions (which act per request,
    /// so they run in phase 1 before CRS's rules).
    static func settings(_ policy: WAFPolicy) -> String {
        let level = policy.paranoiaLevel
        var text = """
            SecAction "id:1990001,phase:1,pass,nolog,t:none,\
            setvar:tx.blocking_paranoia_level=\(level),setvar:tx.detection_paranoia_level=\(level),\
            setvar:tx.paranoia_level=\(level),setvar:tx.executing_paranoia_level=\(level),\
            setvar:tx.inbound_anomaly_score_threshold=\(policy.inboundThreshold),\
            setvar:tx.outbound_anomaly_score_threshold=\(policy.outboundThreshold)"

            """
        var id = 1990100
        for exclusion in policy.exclusions {
            guard let prefix = exclusion.pathPrefix else { continue }
            var controls: [String] = []
            for range in exclusion.ruleIDs {
                let ids = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
                if exclusion.arguments.isEmpty {
                    controls.append("ctl:ruleRemoveById=\(ids)")
                } else {
                    for argument in exclusion.arguments { controls.append("ctl:ruleRemoveTargetById=\(ids);ARGS:\(argument)") }
                }
            }
            for tag in exclusion.tags {
                if exclusion.arguments.isEmpty {
                    controls.append("ctl:ruleRemoveByTag=\(tag)")
                } else {
                    for argument in exclusion.arguments { controls.append("ctl:ruleRemoveTargetByTag=\(tag);ARGS:\(argument)") }
                }
            }
            let quoted = prefix.filter { $0 != "\"" }
            text += "SecRule REQUEST_FILENAME \"@beginsWith \(quoted)\" \"id:\(id),phase:1,pass,nolog,t:none,\(controls.joined(separator: ","))\"\n"
            id += 1
        }
        return text
    }

    /// Exclusions for the whole site, applied to the loaded rules.
    static func exclusionsAfter(_ policy: WAFPolicy) -> String {
        var text = ""
        for exclusion in policy.exclusions where exclusion.pathPrefix == nil {
            for range in exclusion.ruleIDs {
                let ids = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
                if exclusion.arguments.isEmpty {
                    text += "SecRuleRemoveById \(ids)\n"
                } else {
                    let targets = exclusion.arguments.map { "!ARGS:\($0)" }.joined(separator: "|")
                    text += "SecRuleUpdateTargetById \(ids) \"\(targets)\"\n"
                }
            }
            for tag in exclusion.tags {
                if exclusion.arguments.isEmpty {
                    text += "SecRuleRemoveByTag \(tag)\n"
                } else {
                    let targets = exclusion.arguments.map { "!ARGS:\($0)" }.joined(separator: "|")
                    text += "SecRuleUpdateTargetByTag \(tag) \"\(targets)\"\n"
                }
            }
        }
        return text
    }
}
