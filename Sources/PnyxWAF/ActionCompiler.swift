/// Turns a rule's raw action list into typed ``RuleActions`` (on top of the phase's `SecDefaultAction`).
enum ActionCompiler {
    static let severities = ["EMERGENCY": 0, "ALERT": 1, "CRITICAL": 2, "ERROR": 3, "WARNING": 4, "NOTICE": 5, "INFO": 6, "DEBUG": 7]

    /// Actions that are accepted and have no effect in Pnyx (logging detail, metadata, Apache environment).
    static let ignored: Set<String> = [
        "rev", "maturity", "accuracy", "setenv", "sanitisearg", "sanitisematched", "sanitisematchedbytes",
        "sanitiserequestheader", "sanitiseresponseheader", "append", "prepend", "xmlns", "setsid", "setuid",
        "setrsc", "deprecatevar", "sanitizearg", "sanitizematched", "proxy", "pause", "exec", "initcol",
    ]

    static func phase(of actions: [RawAction], location: SourceLocation) throws(SecLangError) -> Int? {
        guard let value = actions.last(where: { $0.name == "phase" })?.value else { return nil }
        switch value.lowercased() {
        case "request": return 2
        case "response": return 4
        case "logging": return 5
        default:
            guard let phase = Int(value), (1...5).contains(phase) else { throw SecLangError(location, "bad phase \(value)") }
            return phase
        }
    }

    static func apply(_ raw: [RawAction], to actions: inout RuleActions, location: SourceLocation) throws(SecLangError) {
        for action in raw {
            let value = action.value ?? ""
            switch action.name {
            case "id":
                guard let id = Int(value), id > 0 else { throw SecLangError(location, "bad rule id \(value)") }
                actions.id = id
            case "phase":
                actions.phase = try phase(of: [action], location: location) ?? actions.phase
            case "pass": setDisruptive(.pass, &actions)
            case "block": setDisruptive(.block, &actions)
            case "deny": setDisruptive(.deny, &actions)
            case "drop": setDisruptive(.drop, &actions)
            case "allow":
                switch value.lowercased() {
                case "": setDisruptive(.allow(.all), &actions)
                case "phase": setDisruptive(.allow(.phase), &actions)
                case "request": setDisruptive(.allow(.request), &actions)
                default: throw SecLangError(location, "bad allow:\(value)")
                }
            case "redirect": setDisruptive(.redirect(value), &actions)
            case "status":
                guard let status = Int(value), (100...599).contains(status) else { throw SecLangError(location, "bad status \(value)") }
                actions.status = status
            case "chain": actions.chain = true
            case "t":
                if value.lowercased() == "none" {
                    actions.transformations = []
                } else if let transformation = Transformation.named(value) {
                    actions.transformations.append(transformation)
                } else {
                    throw SecLangError(location, "unknown transformation t:\(value)")
                }
            case "setvar": actions.setVars.append(try setVar(value, location: location))
            case "expirevar":
                // Checked, then nothing to do: collections (IP, GLOBAL…) live for one request, so nothing expires.
                let target = value.split(separator: "=", maxSplits: 1).first.map(String.init) ?? value
                _ = try collectionKey(target, location: location)
            case "ctl": actions.controls.append(try control(value, location: location))
            case "skip":
                guard let count = Int(value), count >= 0 else { throw SecLangError(location, "bad skip:\(value)") }
                actions.skip = count
            case "skipafter": actions.skipAfter = value
            case "capture": actions.capture = true
            case "multimatch": actions.multiMatch = true
            case "log": actions.log = true
            case "nolog":
                actions.log = false
                actions.auditLog = false
            case "auditlog": actions.auditLog = true
            case "noauditlog": actions.auditLog = false
            case "msg": actions.message = Macro(value)
            case "logdata": actions.logData = Macro(value)
            case "tag": actions.tags.append(value)
            case "severity":
                if let number = Int(value) {
                    actions.severity = number
                } else if let number = severities[value.uppercased()] {
                    actions.severity = number
                } else {
                    throw SecLangError(location, "bad severity \(value)")
                }
            case "ver": actions.version = value
            default:
                if ignored.contains(action.name) { continue }
                throw SecLangError(location, "unknown action \(action.name)")
            }
        }
    }

    private static func setDisruptive(_ action: DisruptiveAction, _ actions: inout RuleActions) {
        actions.disruptive = action
        actions.hasDisruptive = true
    }

    static func collectionKey(_ text: String, location: SourceLocation) throws(SecLangError) -> (VariableName, String) {
        guard let dot = text.firstIndex(of: ".") else { throw SecLangError(location, "expected collection.name in \(text)") }
        let name = text[..<dot].uppercased()
        guard let collection = VariableName.byName[name], collection.isCollection else {
            throw SecLangError(location, "unknown collection \(name)")
        }
        return (collection, String(text[text.index(after: dot)...]).lowercased())
    }

    static func setVar(_ text: String, location: SourceLocation) throws(SecLangError) -> SetVar {
        var body = text.trimmingBlanks()
        var delete = false
        if body.hasPrefix("!") {
            delete = true
            body.removeFirst()
        }
        let target: String
        var valueText = ""
        var operation: SetVar.Operation = delete ? .delete : .set
        if let equals = body.firstIndex(of: "=") {
            target = String(body[..<equals])
            valueText = String(body[body.index(after: equals)...])
            if valueText.hasPrefix("+") {
                operation = .add
                valueText.removeFirst()
            } else if valueText.hasPrefix("-") {
                operation = .subtract
                valueText.removeFirst()
            }
        } else {
            target = body
            if !delete { valueText = "1" }
        }
        guard let dot = target.firstIndex(of: ".") else { throw SecLangError(location, "bad setvar \(text)") }
        let name = target[..<dot].uppercased()
        guard let collection = VariableName.byName[name], collection.isCollection else {
            throw SecLangError(location, "setvar on unknown collection \(name)")
        }
        let key = String(target[target.index(after: dot)...])
        return SetVar(collection: collection, key: Macro(key), operation: operation, value: Macro(valueText))
    }

    static func idRanges(_ text: String, location: SourceLocation) throws(SecLangError) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        for piece in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            let bounds = piece.split(separator: "-")
            guard let low = Int(bounds.first ?? ""), let high = Int(bounds.last ?? ""), low <= high, bounds.count <= 2 else {
                throw SecLangError(location, "bad rule id or range \(piece)")
            }
            ranges.append(low...high)
        }
        return ranges
    }

    static func control(_ text: String, location: SourceLocation) throws(SecLangError) -> Control {
        guard let equals = text.firstIndex(of: "=") else { throw SecLangError(location, "bad ctl:\(text)") }
        let name = text[..<equals].lowercased()
        let value = String(text[text.index(after: equals)...])
        func target(_ spec: String) throws(SecLangError) -> (VariableName, Selector) {
            let parsed = try VariableTarget.parse(spec, location: location)
            return (parsed.name, parsed.selector)
        }
        switch name {
        case "ruleengine":
            switch value.lowercased() {
            case "on": return .ruleEngine(.on)
            case "off": return .ruleEngine(.off)
            case "detectiononly": return .ruleEngine(.detectionOnly)
            default: throw SecLangError(location, "bad ctl:ruleEngine=\(value)")
            }
        case "ruleremovebyid": return .ruleRemoveByID(try idRanges(value, location: location))
        case "ruleremovebytag": return .ruleRemoveByTag(value)
        case "ruleremovetargetbyid", "ruleremovetargetbytag":
            guard let semicolon = value.firstIndex(of: ";") else { throw SecLangError(location, "bad ctl:\(text)") }
            let (variable, selector) = try target(String(value[value.index(after: semicolon)...]))
            let head = String(value[..<semicolon])
            if name == "ruleremovetargetbyid" {
                return .ruleRemoveTargetByID(try idRanges(head, location: location), variable, selector)
            }
            return .ruleRemoveTargetByTag(head, variable, selector)
        case "requestbodyprocessor":
            guard let kind = BodyProcessorKind(rawValue: value.uppercased()) else {
                throw SecLangError(location, "unknown request body processor \(value)")
            }
            return .requestBodyProcessor(kind)
        case "requestbodyaccess": return .requestBodyAccess(value.lowercased() == "on")
        case "forcerequestbodyvariable": return .forceRequestBodyVariable(value.lowercased() == "on")
        case "auditengine", "auditlogparts", "debugloglevel", "responsebodyaccess", "hashengine", "hashenforcement",
            "requestbodylimit", "responsebodylimit", "rulecollectiontimeout":
            return .ignored
        default:
            throw SecLangError(location, "unknown ctl:\(name)")
        }
    }
}
