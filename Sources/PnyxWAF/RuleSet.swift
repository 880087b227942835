/// A loaded, compiled rule set: rules per phase in order, markers, and the engine settings the files gave.
/// Built once (at config load) and read-only afterwards; every transaction evaluates the same instance.
public final class RuleSet: Sendable {
    /// Index 1…5: the rules of that phase, in file order, markers included.
    let phases: [[Rule]]
    public let settings: EngineSettings
    /// Every rule id loaded (chain starters), for reports and tests.
    public let ruleIDs: Set<Int>
    public var ruleCount: Int { ruleIDs.count }
    /// How many distinct transformation lists the rules use (their `transformationsID`s are 1…this).
    let transformationLists: Int

    init(rules: [Rule], settings: EngineSettings) {
        var phases = [[Rule]](repeating: [], count: 6)
        // Per phase: marker name → index in `phases[phase]` (where each rule's skipAfter lands).
        var markers = [[String: Int]](repeating: [:], count: 6)
        var ids = Set<Int>()
        // Number the distinct transformation lists (for the per-request cache of transformed values).
        var lists: [[Transformation]: Int] = [:]
        func number(_ rule: Rule) {
            let list = rule.actions.transformations
            guard !list.isEmpty else { return }
            if let known = lists[list] {
                rule.transformationsID = known
            } else {
                rule.transformationsID = lists.count + 1
                lists[list] = rule.transformationsID
            }
        }
        for rule in rules {
            rule.freeze()
            number(rule)
            rule.chain.forEach(number)
            if let name = rule.markerName {
                for phase in 1...5 {
                    markers[phase][name] = phases[phase].count
                    phases[phase].append(rule)
                }
            } else {
                ids.insert(rule.id)
                phases[rule.actions.phase].append(rule)
            }
        }
        for phase in 1...5 {
            for rule in phases[phase] where rule.markerName == nil {
                if let marker = rule.actions.skipAfter { rule.skipAfterIndex = markers[phase][marker] ?? -1 }
            }
        }
        self.phases = phases
        transformationLists = lists.count
        self.settings = settings
        ruleIDs = ids
    }
}

/// Engine settings from directives (`SecRuleEngine`, body access and limits).
public struct EngineSettings: Sendable {
    public var engine: EngineMode = .on
    public var requestBodyAccess = false
    public var responseBodyAccess = false
    public var requestBodyLimit = 13_107_200
    public var requestBodyNoFilesLimit = 131_072
    public var requestBodyLimitReject = true
    public var responseBodyLimit = 524_288
    public var responseBodyLimitReject = false
    public var responseBodyMimeTypes: [String] = ["text/plain", "text/html"]
    public var argumentSeparator: UInt8 = 0x26
    public var componentSignatures: [String] = []
    /// The disruptive action `block` stands for, per phase (from `SecDefaultAction`).
    public var blockAction: [DisruptiveAction] = Array(repeating: .pass, count: 6)
    public var blockStatus: [Int?] = Array(repeating: nil, count: 6)
    public init() {}
}
