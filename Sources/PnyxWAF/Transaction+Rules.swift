import PnyxCore

extension Transaction {
    /// Evaluates a rule and its chain; on a full match runs the non-disruptive actions and logs it. Returns whether
    /// it matched (the caller handles flow and disruptive actions).
    func evaluate(_ rule: Rule) -> Bool {
        currentRule = rule
        if !matchedVars.isEmpty { matchedVars.removeAll(keepingCapacity: true) }
        // Each link's non-disruptive actions run as soon as it matches, before the next link is evaluated (CRS relies
        // on it: 931130 sets TX variables its chained rule reads; scores are added by the last link).
        // They run once per matching value (ModSecurity v2), with MATCHED_VAR and the captures of that value:
        // 922150 counts multipart Content-Types that way.
        if case .action = rule.kind {
            perform(rule)
        } else {
            guard match(rule) else { return false }
        }
        for link in rule.chain {
            guard match(link) else { return false }
        }
        if rule.actions.log {
            if let severity = rule.actions.severity { highestSeverity = min(highestSeverity, severity) }
            let variable = matchedVar?.name ?? ""
            let value = matchedVar.map { String(decoding: $0.value.prefix(120), as: UTF8.self) } ?? ""
            matches.append(MatchedRule(
                id: rule.id, phase: rule.actions.phase, message: rule.actions.message?.expandString(self) ?? "",
                data: rule.actions.logData?.expandString(self) ?? "", severity: rule.actions.severity,
                tags: rule.actions.tags, variable: variable, value: value, bytes: Array((matchedVar?.value ?? []).prefix(8192))))
        }
        return true
    }

    /// Whether any value of the rule's targets (after its transformations) satisfies its operator; runs the rule's
    /// non-disruptive actions for each value that does.
    private func match(_ rule: Rule) -> Bool {
        var found: [Entry] = []
        // Targets a plan covers are read straight from the slots; the rest through the visitor. Runtime target
        // removals (`ctl:ruleRemoveTargetById`) need the visitor's exclusions, so they turn the plans off.
        let planned = removedTargetsByID.isEmpty && removedTargetsByTag.isEmpty
        // Through buffer pointers: `for target in rule.targets` copies each target, retaining its selector and
        // exclusions, for every rule of every request.
        rule.targets.withUnsafeBufferPointer { targets in
            rule.plans.withUnsafeBufferPointer { plans in
                for position in targets.indices {
                    let variable = targets[position].name
                    if planned {
                        switch plans[position].kind {
                        case .slots:
                            let offset = plans[position].exclusionSet * SlotIndex.stride
                            check(slots: offset + plans[position].first, key: plans[position].key, target: targets[position], rule, &found)
                            if plans[position].second >= 0 {
                                check(slots: offset + plans[position].second, key: plans[position].key, target: targets[position], rule, &found)
                            }
                            continue
                        case .scalar:
                            if let slot = scalarSlots[plans[position].first] {
                                check(slot, variable, rule, &found)
                                continue
                            }
                        case .txKey:
                            if let key = plans[position].key, let slot = txSlot(key) { check(slot, variable, rule, &found) }
                            continue
                        case .general:
                            break
                        }
                    }
                    forEachValue(of: targets[position], rule: rule) { variable, slot in check(slot, variable, rule, &found) }
                }
            }
        }
        guard !found.isEmpty else { return false }
        matchedVars = found
        return true
    }

    /// Checks the slots of one request collection (`slotSets[index]`), or those whose key is `key`.
    @inline(__always)
    private func check(slots index: Int, key: String?, target: VariableTarget, _ rule: Rule, _ found: inout [Entry]) {
        let variable = target.name
        let list = slotSets[index] ?? slotList(index, exclusions: target.exclusions)
        list.withUnsafeBufferPointer { slots in
            // `list` holds the slots for the loop: lend each without retaining it.
            for position in slots.indices {
                Unmanaged.passUnretained(slots[position])._withUnsafeGuaranteedRef { slot in
                    if let key, slot.key != key { return }
                    check(slot, variable, rule, &found)
                }
            }
        }
    }

    /// Runs the rule's operator on one value after its transformations (each (value, trie node) pair transformed once
    /// per request, see ``TransformCache``), recording a match.
    @inline(__always)
    private func check(_ slot: ValueSlot, _ variable: VariableName, _ rule: Rule, _ found: inout [Entry]) {
        if rule.multiMatch {
            var value = slot.raw
            var hit = test(rule, value)
            for transformation in rule.transformations where !hit {
                let next = transformation.apply(value)
                if next != value { hit = test(rule, next) }
                value = next
            }
            if hit { matched(ValueLabel(variable: variable, name: slot.name), value, rule: rule, found: &found) }
            return
        }
        let id = rule.transformationsID
        if id == 0 {
            if slot.raw.withUnsafeBytes({ test(rule, $0) }) {
                matched(ValueLabel(variable: variable, name: slot.name), slot.raw, rule: rule, found: &found)
            }
            return
        }
        if slot.serial == 0 {
            // A value made for this read only (a TX variable, a count): nothing to keep.
            let value = transformed(slot.raw, rule)
            if test(rule, value) { matched(ValueLabel(variable: variable, name: slot.name), value, rule: rule, found: &found) }
            return
        }
        let span = form(of: slot, node: id)
        // The buffer stays valid through the test (operators do not transform); a match copies it.
        if test(rule, transformCache.buffer(span)) {
            matched(ValueLabel(variable: variable, name: slot.name), Array(transformCache.buffer(span)), rule: rule, found: &found)
        }
    }

    /// Where `slot`'s form after transformation-trie node `node` is in the transform cache: made on first use from
    /// its parent node's form (node 0: the raw value), sharing the parent's bytes when the step leaves them as they
    /// are.
    private func form(of slot: ValueSlot, node: Int) -> TransformCache.Span {
        let serial = slot.serial
        if let span = transformCache.lookup(serial: serial, node: node) { return span }
        if node == 0 { return transformCache.store(serial: serial, node: 0, slot.raw) }
        let step = rules.transformNodes[node]
        let input = form(of: slot, node: step.parent)
        if step.transformation.leavesUnchanged(transformCache.buffer(input)) {
            transformCache.alias(serial: serial, node: node, input)
            return input
        }
        return transformCache.store(serial: serial, node: node, step.transformation.apply(Array(transformCache.buffer(input))))
    }

    /// The value after the rule's transformations, in order.
    private func transformed(_ raw: [UInt8], _ rule: Rule) -> [UInt8] {
        var value = raw
        for transformation in rule.transformations { value = transformation.apply(value) }
        return value
    }

    private func matched(_ label: ValueLabel, _ value: [UInt8], rule: Rule, found: inout [Entry]) {
        let entry = Entry(name: label.text, key: "", value: value)
        found.append(entry)
        matchedVar = entry
        perform(rule)
    }

    private func test(_ rule: Rule, _ value: [UInt8]) -> Bool {
        value.withUnsafeBytes { test(rule, $0) }
    }

    private func test(_ rule: Rule, _ value: UnsafeRawBufferPointer) -> Bool {
        operatorRuns &+= 1
        if let regex = rule.regex {
            return regex._withUnsafeGuaranteedRef { regexMatch($0, value, capture: rule.capture) } != rule.negated
        }
        if !rule.capture, let phrases = rule.phrases {
            return phrases._withUnsafeGuaranteedRef { $0.contains(in: value) } != rule.negated
        }
        return apply(rule.op, to: value, capture: rule.capture) != rule.negated
    }

    /// Runs one operator on one (transformed) value.
    func apply(_ op: Operator, to value: UnsafeRawBufferPointer, capture: Bool) -> Bool {
        switch op {
        case .rx(let regex):
            return regexMatch(regex, value, capture: capture)
        case .rxMacro(let macro):
            guard let regex = try? Regex(macro.expandString(self)) else { return false }
            return regexMatch(regex, value, capture: capture)
        case .pm(let matcher):
            // Most values hold no phrase: the quick scan says so; the automaton finds which phrase to capture.
            guard matcher.contains(in: value), let index = matcher.firstMatch(in: value) else { return false }
            if capture { setCapture([matcher.phrases[index]]) }
            return true
        case .streq(let macro): return value.elementsEqual(macro.expand(self))
        case .contains(let macro):
            let needle = macro.expand(self)
            return needle.isEmpty || Decoders.find(needle, in: Array(value)) != nil
        case .containsWord(let macro): return Self.containsWord(macro.expand(self), in: Array(value))
        case .beginsWith(let macro): return value.starts(with: macro.expand(self))
        case .endsWith(let macro):
            let suffix = macro.expand(self)
            return suffix.count <= value.count && value[(value.count - suffix.count)...].elementsEqual(suffix)
        case .within(let macro):
            return value.isEmpty || Decoders.find(Array(value), in: macro.expand(self)) != nil
        case .strmatch(let macro):
            let needle = macro.expand(self)
            return needle.isEmpty || Decoders.find(needle, in: Array(value)) != nil
        case .eq(let macro): return Self.number(value) == Self.number(macro.expand(self))
        case .ge(let macro): return Self.number(value) >= Self.number(macro.expand(self))
        case .gt(let macro): return Self.number(value) > Self.number(macro.expand(self))
        case .le(let macro): return Self.number(value) <= Self.number(macro.expand(self))
        case .lt(let macro): return Self.number(value) < Self.number(macro.expand(self))
        case .ipMatch(let ranges):
            guard let address = IPAddress(String(decoding: value, as: UTF8.self)) else { return false }
            return ranges.contains { $0.contains(address) }
        case .validateByteRange(let ranges):
            return value.contains { byte in !ranges.contains { $0.contains(byte) } }
        case .validateUrlEncoding:
            return !Self.validURLEncoding(Array(value)[...])
        case .validateUtf8Encoding:
            return !Self.validUTF8(value)
        case .detectSQLi:
            guard let fingerprint = SQLInjectionDetector.detect(Array(value)) else { return false }
            if capture { setCapture([Array(fingerprint.utf8)]) }
            return true
        case .detectXSS:
            return XSSDetector.detect(Array(value))
        case .unconditionalMatch: return true
        case .noMatch, .unsupported: return false
        }
    }

    private func regexMatch(_ regex: Regex, _ value: UnsafeRawBufferPointer, capture: Bool) -> Bool {
        guard capture else { return regex.matches(value, scratch: scratch) }
        var groups: [[UInt8]] = []
        let hit = regex.matches(value, scratch: scratch, captures: &groups)
        if hit { setCapture(groups) }
        return hit
    }

    /// Sets TX:0…TX:9 to a match's groups and removes the rest. A key that no write can have set (see
    /// ``captureKeysMaybeSet``) is not looked up to be removed: a capturing rule used to cost twenty hashed
    /// dictionary operations, whatever it captured.
    private func setCapture(_ groups: [[UInt8]]) {
        let count = min(groups.count, 10)
        for index in 0..<10 {
            let bit: UInt16 = 1 << index
            guard index < count || captureKeysMaybeSet & bit != 0 else { continue }
            let key = Self.captureKeys[index]
            if !txSlots.isEmpty { txSlots[key] = nil }
            if index < count {
                tx[key] = Entry(name: key, key: key, value: groups[index])
                captureKeysMaybeSet |= bit
            } else {
                tx[key] = nil
                captureKeysMaybeSet &= ~bit
            }
        }
    }

    static let captureKeys = (0..<10).map { String($0) }

    /// Notes a write of a TX key that may be a capture key ("0"…"9"), so that ``setCapture(_:)`` removes it later.
    @inline(__always)
    func noteTXWrite(_ lower: String) {
        let utf8 = lower.utf8
        guard utf8.count == 1, let byte = utf8.first, byte >= 0x30, byte <= 0x39 else { return }
        captureKeysMaybeSet |= 1 << (byte - 0x30)
    }

    static func number(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { number($0) }
    }

    static func number(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index < bytes.count, Decoders.isSpace(bytes[index]) { index += 1 }
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D || bytes[index] == 0x2B {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var value = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            value = value &* 10 &+ Int(bytes[index] - 0x30)
            index += 1
        }
        return negative ? -value : value
    }

    static func containsWord(_ word: [UInt8], in value: [UInt8]) -> Bool {
        guard !word.isEmpty else { return true }
        guard word.count <= value.count else { return false }
        func isWordByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || byte == 0x5F
        }
        for start in 0...(value.count - word.count) where value[start] == word[0] {
            guard value[start..<(start + word.count)].elementsEqual(word) else { continue }
            let before = start == 0 || !isWordByte(value[start - 1])
            let end = start + word.count
            let after = end == value.count || !isWordByte(value[end])
            if before && after { return true }
        }
        return false
    }

    static func validUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { validUTF8($0) }
    }

    static func validUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            var length = 0
            var minimum: UInt32 = 0
            if byte < 0x80 { index += 1; continue }
            if byte & 0xE0 == 0xC0 { length = 2; minimum = 0x80 }
            else if byte & 0xF0 == 0xE0 { length = 3; minimum = 0x800 }
            else if byte & 0xF8 == 0xF0 { length = 4; minimum = 0x10000 }
            else { return false }
            guard index + length <= bytes.count else { return false }
            var scalar = UInt32(byte) & (0xFF >> (length + 1))
            for offset in 1..<length {
                let next = bytes[index + offset]
                guard next & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(next & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return false }
            index += length
        }
        return true
    }

    // MARK: - Actions

    /// Runs the rule's setvar and ctl actions (read through the rule: passing its whole `actions` would copy it,
    /// retaining every array and string it holds, once per match).
    private func perform(_ rule: Rule) {
        if !rule.actions.setVars.isEmpty {
            rule.actions.setVars.withUnsafeBufferPointer { setVars in
                for index in setVars.indices { setVar(setVars[index]) }
            }
        }
        if !rule.actions.controls.isEmpty {
            for control in rule.actions.controls { apply(control) }
        }
    }

    private func setVar(_ setVar: SetVar) {
        let key: String, lower: String
        if let constant = setVar.constantKey {
            (key, lower) = constant
        } else {
            key = setVar.key.expandString(self)
            lower = key.lowercased()
        }
        let value: [UInt8]?
        switch setVar.operation {
        case .delete:
            value = nil
        case .set:
            value = setVar.value.expand(self)
        case .add, .subtract:
            let currentEntry = setVar.collection == .tx ? tx[lower] : persistent[setVar.collection]?[lower]
            let current = currentEntry.map { Self.number($0.value) } ?? 0
            let change = Self.number(setVar.value.expand(self))
            let result = setVar.operation == .add ? current &+ change : current &- change
            value = Array(String(result).utf8)
        }
        let entry = value.map { Entry(name: key, key: lower, value: $0) }
        if setVar.collection == .tx {
            tx[lower] = entry
            if !txSlots.isEmpty { txSlots[lower] = nil }
            noteTXWrite(lower)
        } else {
            persistent[setVar.collection, default: [:]][lower] = entry
        }
    }

    private func apply(_ control: Control) {
        switch control {
        case .ruleEngine(let mode): engine = mode
        case .ruleRemoveByID(let ranges): removedRuleRanges += ranges
        case .ruleRemoveByTag(let tag): removedTags.append(tag)
        case .ruleRemoveTargetByID(let ranges, let variable, let selector):
            for range in ranges { removedTargetsByID.append((range, variable, selector)) }
        case .ruleRemoveTargetByTag(let tag, let variable, let selector):
            removedTargetsByTag.append((tag, variable, selector))
        case .requestBodyProcessor(let kind): bodyProcessor = kind
        case .requestBodyAccess(let on): requestBodyAccess = on
        case .forceRequestBodyVariable(let on): forceRequestBodyVariable = on
        case .ignored: break
        }
    }
}
