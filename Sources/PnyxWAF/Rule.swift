/// What a rule does when it matches and the engine is on.
public enum DisruptiveAction: Sendable, Equatable {
    case pass
    /// `block`: whatever `SecDefaultAction` says for the phase (CRS: pass; the blocking rule 949110 denies).
    case block
    case deny
    case drop
    case allow(AllowScope)
    case redirect(String)
}

public enum AllowScope: Sendable, Equatable {
    /// `allow`: the rest of the transaction's request and response rules are skipped.
    case all
    /// `allow:phase`: the rest of this phase.
    case phase
    /// `allow:request`: the rest of the request phases.
    case request
}

/// `setvar:tx.score=+5`, `setvar:!tx.flag`, `setvar:'tx.%{rule.id}-%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'`.
public struct SetVar: Sendable {
    public enum Operation: Sendable { case set, add, subtract, delete }
    public var collection: VariableName
    public var key: Macro {
        didSet { constantKey = Self.constantKey(key) }
    }
    public var operation: Operation
    public var value: Macro
    /// The key and its lowercased form when it has no `%{…}` (most CRS keys): not rebuilt per match.
    private(set) var constantKey: (name: String, lower: String)?

    public init(collection: VariableName, key: Macro, operation: Operation, value: Macro) {
        self.collection = collection
        self.key = key
        self.operation = operation
        self.value = value
        constantKey = Self.constantKey(key)
    }

    static func constantKey(_ key: Macro) -> (name: String, lower: String)? {
        guard let bytes = key.constant else { return nil }
        let name = String(decoding: bytes, as: UTF8.self)
        return (name, name.lowercased())
    }
}

/// `ctl:` — changes to this transaction only.
public enum Control: Sendable {
    case ruleEngine(EngineMode)
    case ruleRemoveByID([ClosedRange<Int>])
    case ruleRemoveByTag(String)
    case ruleRemoveTargetByID([ClosedRange<Int>], VariableName, Selector)
    case ruleRemoveTargetByTag(String, VariableName, Selector)
    case requestBodyProcessor(BodyProcessorKind)
    case requestBodyAccess(Bool)
    case forceRequestBodyVariable(Bool)
    /// Audit-log settings and others that do not change what Pnyx decides.
    case ignored
}

public enum EngineMode: String, Sendable {
    case on = "On", detectionOnly = "DetectionOnly", off = "Off"
}

public enum BodyProcessorKind: String, Sendable {
    case urlencoded = "URLENCODED", multipart = "MULTIPART", json = "JSON", xml = "XML"
}

/// A rule's actions, parsed and typed.
public struct RuleActions: Sendable {
    public var id = 0
    public var phase = 2
    public var disruptive: DisruptiveAction = .pass
    public var hasDisruptive = false
    public var status: Int?
    public var chain = false
    public var transformations: [Transformation] = []
    public var setVars: [SetVar] = []
    public var controls: [Control] = []
    public var skip = 0
    public var skipAfter: String?
    public var capture = false
    public var multiMatch = false
    public var log = true
    public var auditLog = true
    public var message: Macro?
    public var logData: Macro?
    public var tags: [String] = []
    public var severity: Int?
    public var version: String?
}


/// One SecRule or SecAction (a chain is one rule with its links), or a SecMarker. A reference type: the loader
/// adjusts rules while it reads the files (SecRuleUpdate…); after ``RuleSet`` is built nothing changes them, and
/// every transaction only reads them (hence `@unchecked Sendable`).
public final class Rule: @unchecked Sendable {
    public enum Kind: Sendable {
        case rule
        case action
        case marker(String)
    }
    public let kind: Kind
    public var targets: [VariableTarget]
    public let op: Operator
    public let negated: Bool
    public var actions: RuleActions
    /// The rules chained after this one (all must match).
    public var chain: [Rule] = []
    public let location: SourceLocation
    /// The transformation list's node in the rule set's trie (equal lists, equal nodes): keys the per-request cache
    /// of transformed values. 0: no transformations.
    var transformationsID = 0
    let markerName: String?
    /// Copies of the fields read for every value, set by ``freeze()`` when the rule set is built (reading them through
    /// `actions` on the hot path costs reference counting on the whole struct).
    private(set) var multiMatch = false
    private(set) var capture = false
    private(set) var transformations: [Transformation] = []
    /// How each of `targets` is read on the hot path (same order); ``RuleSet`` numbers their exclusion lists.
    var plans: [TargetPlan] = []
    /// The operator's regex or phrase list when it is one (most CRS rules), read on the hot path without reference
    /// counting: `op` keeps them alive as long as the rule.
    /// Where `skipAfter` continues in the rule's phase list: the marker's index, or -1 when the marker is missing
    /// (the rest of the phase is skipped). Set when the rule set is built.
    var skipAfterIndex = -1
    private(set) var regex: Unmanaged<Regex>?
    private(set) var phrases: Unmanaged<PhraseMatcher>?

    func freeze() {
        multiMatch = actions.multiMatch
        capture = actions.capture
        transformations = actions.transformations
        plans = targets.map(TargetPlan.init)
        switch op {
        case .rx(let compiled): regex = .passUnretained(compiled)
        case .pm(let matcher): phrases = .passUnretained(matcher)
        default: break
        }
        chain.forEach { $0.freeze() }
    }

    public var id: Int { actions.id }

    init(kind: Kind, targets: [VariableTarget], op: Operator, negated: Bool, actions: RuleActions, location: SourceLocation) {
        self.kind = kind
        self.targets = targets
        self.op = op
        self.negated = negated
        self.actions = actions
        self.location = location
        if case .marker(let name) = kind { markerName = name } else { markerName = nil }
    }
}
