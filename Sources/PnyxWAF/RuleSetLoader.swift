#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads SecLang files (following `Include` with globs) into a ``RuleSet``. Any error (an unknown directive,
/// action, operator, variable or transformation, a bad regex) refuses the whole set, naming file and line.
public struct RuleSetLoader {
    private var rules: [Rule] = []
    private var settings = EngineSettings()
    /// `SecDefaultAction` per phase: the raw actions every later rule of that phase starts from.
    private var defaults: [[RawAction]] = Array(repeating: [], count: 6)
    /// The rule a `chain` action left open (the next SecRule joins it).
    private var openChain: Rule?
    private var includeDepth = 0
    private var seenIDs: [Int: SourceLocation] = [:]

    public init() {}

    /// Loads the files in order (each may be a glob) and, after them, `extra` SecLang text (Pnyx's own settings).
    public static func load(files: [String], prelude: String = "", epilogue: String = "") throws(SecLangError) -> RuleSet {
        var loader = RuleSetLoader()
        if !prelude.isEmpty { try loader.add(text: prelude, file: "<pnyx prelude>", directory: ".") }
        for pattern in files {
            let paths = expand(pattern)
            if paths.isEmpty {
                throw SecLangError(SourceLocation(file: pattern, line: 0), "no rule files match")
            }
            for path in paths { try loader.add(file: path) }
        }
        if !epilogue.isEmpty { try loader.add(text: epilogue, file: "<pnyx settings>", directory: ".") }
        return try loader.finish()
    }

    public mutating func add(file path: String) throws(SecLangError) {
        guard let text = readTextFile(path) else {
            throw SecLangError(SourceLocation(file: path, line: 0), "cannot read file")
        }
        try add(text: text, file: path, directory: Self.directory(of: path))
    }

    public mutating func add(text: String, file: String, directory: String) throws(SecLangError) {
        for directive in try SecLangParser.parse(text, file: file) {
            try apply(directive, directory: directory)
        }
    }

    public mutating func finish() throws(SecLangError) -> RuleSet {
        if let openChain {
            throw SecLangError(openChain.location, "rule \(openChain.id) ends with chain but no rule follows")
        }
        return RuleSet(rules: rules, settings: settings)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths.sorted()
    }

    // MARK: - Directives

    private mutating func apply(_ directive: Directive, directory: String) throws(SecLangError) {
        let location = directive.location
        let args = directive.arguments
        func argument(_ index: Int) throws(SecLangError) -> String {
            guard index < args.count else { throw SecLangError(location, "\(directive.name) needs more arguments") }
            return args[index]
        }
        func onOff() throws(SecLangError) -> Bool {
            switch try argument(0).lowercased() {
            case "on": return true
            case "off": return false
            default: throw SecLangError(location, "\(directive.name) takes On or Off")
            }
        }
        func number() throws(SecLangError) -> Int {
            guard let value = Int(try argument(0)), value >= 0 else { throw SecLangError(location, "\(directive.name) takes a number") }
            return value
        }
        if openChain != nil, directive.name.lowercased() != "secrule" {
            throw SecLangError(location, "a chained rule must be followed by SecRule, not \(directive.name)")
        }
        switch directive.name.lowercased() {
        case "include":
            includeDepth += 1
            defer { includeDepth -= 1 }
            guard includeDepth < 16 else { throw SecLangError(location, "Include nested too deeply") }
            let target = try argument(0)
            let pattern = target.hasPrefix("/") ? target : directory + "/" + target
            let paths = Self.expand(pattern)
            if paths.isEmpty, !pattern.contains("*") { throw SecLangError(location, "Include: no file \(pattern)") }
            for path in paths { try add(file: path) }
        case "secrule":
            guard args.count >= 2 else { throw SecLangError(location, "SecRule needs variables and an operator") }
            try addRule(variables: args[0], operator: args[1], actions: args.count > 2 ? args[2] : "", directory: directory, location: location)
        case "secaction":
            try addAction(try argument(0), location: location)
        case "secmarker":
            rules.append(Rule(kind: .marker(try argument(0)), targets: [], op: .noMatch, negated: false, actions: RuleActions(), location: location))
        case "secdefaultaction":
            let raw = try ActionListParser.parse(try argument(0), location: location)
            let phase = try ActionCompiler.phase(of: raw, location: location) ?? 2
            var actions = RuleActions()
            try ActionCompiler.apply(raw, to: &actions, location: location)
            guard actions.hasDisruptive else { throw SecLangError(location, "SecDefaultAction needs a disruptive action") }
            defaults[phase] = raw.filter { $0.name != "phase" }
            settings.blockAction[phase] = actions.disruptive
            settings.blockStatus[phase] = actions.status
        case "secruleengine":
            switch try argument(0).lowercased() {
            case "on": settings.engine = .on
            case "off": settings.engine = .off
            case "detectiononly": settings.engine = .detectionOnly
            default: throw SecLangError(location, "SecRuleEngine takes On, Off or DetectionOnly")
            }
        case "secrequestbodyaccess": settings.requestBodyAccess = try onOff()
        case "secresponsebodyaccess": settings.responseBodyAccess = try onOff()
        case "secrequestbodylimit": settings.requestBodyLimit = try number()
        case "secrequestbodynofileslimit": settings.requestBodyNoFilesLimit = try number()
        case "secargumentslimit": settings.argumentsLimit = try number()
        case "secresponsebodylimit": settings.responseBodyLimit = try number()
        case "secrequestbodylimitaction": settings.requestBodyLimitReject = try argument(0).lowercased() == "reject"
        case "secresponsebodylimitaction": settings.responseBodyLimitReject = try argument(0).lowercased() == "reject"
        case "secresponsebodymimetype": settings.responseBodyMimeTypes += args.map { $0.lowercased() }
        case "secresponsebodymimetypesclear": settings.responseBodyMimeTypes = []
        case "secargumentseparator":
            guard let byte = try argument(0).utf8.first else { throw SecLangError(location, "empty separator") }
            settings.argumentSeparator = byte
        case "seccomponentsignature": settings.componentSignatures.append(try argument(0))
        case "secruleremovebyid":
            var ranges: [ClosedRange<Int>] = []
            for arg in args { ranges += try ActionCompiler.idRanges(arg, location: location) }
            rules.removeAll { rule in rule.markerName == nil && ranges.contains { $0.contains(rule.id) } }
        case "secruleremovebytag":
            let tag = try argument(0)
            let regex = try? Regex(tag)
            rules.removeAll { rule in rule.actions.tags.contains { Self.tagMatches($0, pattern: tag, regex: regex) } }
        case "secruleremovebymsg":
            let message = try argument(0)
            rules.removeAll { $0.actions.message?.source == message }
        case "secruleupdatetargetbyid", "secruleupdatetargetbytag", "secruleupdatetargetbymsg":
            try updateTargets(directive, location: location)
        case "secruleupdateactionbyid":
            try updateActions(try argument(0), actions: try argument(1), location: location)
        case "seccollectiontimeout", "secpcrematchlimit", "secpcrematchlimitrecursion", "secauditengine", "secauditlog",
            "secauditlog2", "secauditlogparts", "secauditlogrelevantstatus", "secauditlogtype", "secauditlogformat",
            "secauditlogstoragedir", "secauditlogdirmode", "secauditlogfilemode", "secdebuglog", "secdebugloglevel",
            "sectmpdir", "secdatadir", "secuploaddir", "secuploadkeepfiles", "secuploadfilemode", "secuploadfilelimit",
            "seccookieformat", "secunicodemapfile", "secunicodecodepage", "secstatusengine", "secserversignature",
            "secwebappid", "sectmpsaveuploadedfiles", "secxmlexternalentity",
            "secrequestbodyjsondepthlimit", "secrequestbodyinmemorylimit", "secsensorid", "secconnengine",
            "secgeolookupdb", "secgsblookupdb", "sechashengine", "sechashkey", "sechashparam", "sechashmethodrx",
            "sechashmethodpm", "secremoterules", "secremoterulesfailaction", "secinterceptonerror", "seccachetransformations",
            "secchrootdir", "secguardianlog", "secreadstatehook", "secstreaminbodyinspection", "secstreamoutbodyinspection",
            "secdisablebackendcompression", "secrulescript", "secruleperftime", "seccontentinjection", "secmarkerfile",
            "secuploadfilelimitaction", "secpdfprotect", "secconnreadstatelimit", "secconnwritestatelimit", "sechttpblkey":
            return
        default:
            throw SecLangError(location, "unknown directive \(directive.name)")
        }
    }

    private static func tagMatches(_ tag: String, pattern: String, regex: Regex?) -> Bool {
        if tag == pattern { return true }
        guard let regex else { return false }
        let scratch = RegexScratch()
        return regex.matches(tag, scratch: scratch)
    }

    private mutating func baseActions(for raw: [RawAction], location: SourceLocation) throws(SecLangError) -> RuleActions {
        let phase = try ActionCompiler.phase(of: raw, location: location) ?? 2
        var actions = RuleActions()
        actions.phase = phase
        // A rule inherits the phase's default actions (its disruptive action included) and overrides them.
        try ActionCompiler.apply(defaults[phase], to: &actions, location: location)
        actions.phase = phase
        return actions
    }

    private mutating func addRule(variables: String, operator opText: String, actions actionText: String,
                                  directory: String, location: SourceLocation) throws(SecLangError) {
        let raw = try ActionListParser.parse(actionText, location: location)
        let targets = try VariableTarget.parseList(variables, location: location)
        let (op, negated) = try Operator.parse(opText, directory: directory, location: location)
        if let starter = openChain {
            // A chain link: its own transformations and non-disruptive actions, the starter's phase.
            var actions = RuleActions()
            actions.phase = starter.actions.phase
            actions.log = starter.actions.log
            try ActionCompiler.apply(raw, to: &actions, location: location)
            actions.phase = starter.actions.phase
            let link = Rule(kind: .rule, targets: targets, op: op, negated: negated, actions: actions, location: location)
            starter.chain.append(link)
            if actions.chain {
                openChain = starter
            } else {
                openChain = nil
                try append(starter)
            }
            return
        }
        var actions = try baseActions(for: raw, location: location)
        try ActionCompiler.apply(raw, to: &actions, location: location)
        guard actions.id > 0 else { throw SecLangError(location, "rule has no id") }
        let rule = Rule(kind: .rule, targets: targets, op: op, negated: negated, actions: actions, location: location)
        if actions.chain {
            openChain = rule
        } else {
            try append(rule)
        }
    }

    private mutating func addAction(_ text: String, location: SourceLocation) throws(SecLangError) {
        let raw = try ActionListParser.parse(text, location: location)
        var actions = try baseActions(for: raw, location: location)
        try ActionCompiler.apply(raw, to: &actions, location: location)
        guard actions.id > 0 else { throw SecLangError(location, "SecAction has no id") }
        let rule = Rule(kind: .action, targets: [], op: .unconditionalMatch, negated: false, actions: actions, location: location)
        if actions.chain {
            openChain = rule
        } else {
            try append(rule)
        }
    }

    private mutating func append(_ rule: Rule) throws(SecLangError) {
        if let earlier = seenIDs[rule.id] {
            throw SecLangError(rule.location, "rule id \(rule.id) is already used at \(earlier)")
        }
        seenIDs[rule.id] = rule.location
        rules.append(rule)
    }

    private mutating func updateTargets(_ directive: Directive, location: SourceLocation) throws(SecLangError) {
        guard directive.arguments.count >= 2 else { throw SecLangError(location, "\(directive.name) needs a rule and targets") }
        let selectorText = directive.arguments[0]
        let name = directive.name.lowercased()
        var additions: [VariableTarget] = []
        var exclusions: [(VariableName, Selector)] = []
        for piece in VariableTarget.splitList(directive.arguments[1]) {
            var piece = piece.trimmingBlanks()
            if piece.isEmpty { continue }
            if piece.hasPrefix("!") {
                piece.removeFirst()
                let target = try VariableTarget.parse(piece, location: location)
                exclusions.append((target.name, target.selector))
            } else {
                additions.append(try VariableTarget.parse(piece, location: location))
            }
        }
        let ranges = name == "secruleupdatetargetbyid" ? try ActionCompiler.idRanges(selectorText, location: location) : []
        for index in rules.indices where rules[index].markerName == nil {
            let rule = rules[index]
            let selected: Bool
            switch name {
            case "secruleupdatetargetbyid": selected = ranges.contains { $0.contains(rule.id) }
            case "secruleupdatetargetbytag": selected = rule.actions.tags.contains(selectorText)
            default: selected = rule.actions.message?.source == selectorText
            }
            guard selected else { continue }
            for (variable, selector) in exclusions {
                for target in rules[index].targets.indices where rules[index].targets[target].name == variable {
                    rules[index].targets[target].exclusions.append(selector)
                }
            }
            rules[index].targets += additions
        }
    }

    private mutating func updateActions(_ idText: String, actions text: String, location: SourceLocation) throws(SecLangError) {
        guard let id = Int(idText.split(separator: ":").first ?? "") else { throw SecLangError(location, "bad rule id \(idText)") }
        guard let index = rules.firstIndex(where: { $0.markerName == nil && $0.id == id }) else {
            throw SecLangError(location, "SecRuleUpdateActionById: no rule \(id)")
        }
        let raw = try ActionListParser.parse(text, location: location)
        if raw.contains(where: { $0.name == "id" || $0.name == "phase" }) {
            throw SecLangError(location, "SecRuleUpdateActionById cannot change id or phase")
        }
        var actions = rules[index].actions
        // A new disruptive action replaces the old; transformations given here replace the rule's (ModSecurity).
        if raw.contains(where: { $0.name == "t" }) { actions.transformations = [] }
        try ActionCompiler.apply(raw, to: &actions, location: location)
        rules[index].actions = actions
    }
}
