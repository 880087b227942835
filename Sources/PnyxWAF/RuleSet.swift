/// A loaded, compiled rule set: rules per phase in order, markers, and the engine settings the files gave.
/// Built once (at config load) and read-only afterwards; every transaction evaluates the same instance.
public final class RuleSet: Sendable {
    /// Index 1…5: the rules of that phase, in file order, markers included.
    let phases: [[Rule]]
    public let settings: EngineSettings
    /// Every rule id loaded (chain starters), for reports and tests.
    public let ruleIDs: Set<Int>
    public var ruleCount: Int { ruleIDs.count }
    /// The rules' transformation lists as a trie (lists that start alike share their first steps): node 0 is the
    /// untransformed value; a rule's `transformationsID` is the node of its whole list. A value's form after a node
    /// is its parent's form with the node's transformation applied, so each step is computed once per value.
    let transformNodes: [TransformNode]
    /// How many distinct exclusion lists whole-collection targets use (their plans' `exclusionSet`s are 1…this).
    let exclusionSets: Int

    init(rules: [Rule], settings: EngineSettings) {
        var phases = [[Rule]](repeating: [], count: 6)
        // Per phase: marker name → index in `phases[phase]` (where each rule's skipAfter lands).
        var markers = [[String: Int]](repeating: [:], count: 6)
        var ids = Set<Int>()
        // Build the trie of transformation lists (for the per-request cache of transformed values).
        var nodes = [TransformNode(parent: 0, transformation: .lowercase)]
        var nodeOf: [[Transformation]: Int] = [:]
        func number(_ rule: Rule) {
            let list = rule.actions.transformations
            var node = 0
            for length in list.indices {
                let prefix = Array(list[...length])
                if let known = nodeOf[prefix] {
                    node = known
                } else {
                    nodes.append(TransformNode(parent: node, transformation: list[length]))
                    node = nodes.count - 1
                    nodeOf[prefix] = node
                }
            }
            rule.transformationsID = node
        }
        // Number the distinct exclusion lists of planned collection targets (each gets its own filtered slots).
        var exclusionLists: [String: Int] = [:]
        func numberExclusions(_ rule: Rule) {
            for index in rule.plans.indices where rule.plans[index].kind == .slots && !rule.targets[index].exclusions.isEmpty {
                let text = TargetPlan.exclusionText(rule.targets[index].exclusions)
                if let known = exclusionLists[text] {
                    rule.plans[index].exclusionSet = known
                } else {
                    rule.plans[index].exclusionSet = exclusionLists.count + 1
                    exclusionLists[text] = exclusionLists.count + 1
                }
            }
        }
        for rule in rules {
            rule.freeze()
            number(rule)
            rule.chain.forEach(number)
            numberExclusions(rule)
            rule.chain.forEach(numberExclusions)
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
        transformNodes = nodes
        exclusionSets = exclusionLists.count
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
    /// `SecArgumentsLimit`: the most arguments (query and body together) a request may carry. Past it the extra
    /// ones are not inspected and REQBODY_ERROR is set, so the base rules refuse the request (400): every rule runs
    /// on every argument, and thousands of them would cost seconds of CPU.
    public var argumentsLimit = 1000
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

/// One step of the transformation trie (see ``RuleSet/transformNodes``).
struct TransformNode {
    var parent: Int
    var transformation: Transformation
}
