/// One value of the request as rules see it (an argument, a header, the URI…). Made once per request value, on
/// first use, with a serial that keys its transformed forms in the transaction's ``TransformCache``; a value made
/// for one read only (a TX variable, a count) has serial 0 and is transformed without being kept.
final class ValueSlot {
    let name: String?
    let key: String
    let raw: [UInt8]
    let serial: Int

    init(name: String?, key: String, raw: [UInt8], serial: Int = 0) {
        self.name = name
        self.key = key
        self.raw = raw
        self.serial = serial
    }
}

/// Where a value came from, for MATCHED_VAR_NAME (`ARGS:q`, `REQUEST_URI`): the string is made only on a match.
struct ValueLabel {
    var variable: VariableName
    var name: String?
    var text: String { name.map { variable.rawValue + ":" + $0 } ?? variable.rawValue }
}

extension Transaction {
    /// Calls `body` with each value a rule target names (after its selector and exclusions): the variable it is
    /// reported under and its slot. A `&` target gives one value, the count.
    func forEachValue(of target: VariableTarget, rule: Rule, _ body: (VariableName, ValueSlot) -> Void) {
        if !target.count && removedTargetsByID.isEmpty && removedTargetsByTag.isEmpty {
            // The usual case, without copying the target's exclusions.
            visit(target.name, selector: target.selector, exclusions: target.exclusions, body)
            return
        }
        let runtime = runtimeExclusions(for: rule, variable: target.name)
        let exclusions = runtime.isEmpty ? target.exclusions : target.exclusions + runtime
        if target.count {
            var count = 0
            visit(target.name, selector: target.selector, exclusions: exclusions) { _, _ in count += 1 }
            body(target.name, ValueSlot(name: nil, key: "", raw: Array(String(count).utf8)))
            return
        }
        visit(target.name, selector: target.selector, exclusions: exclusions, body)
    }

    private func runtimeExclusions(for rule: Rule, variable: VariableName) -> [Selector] {
        if removedTargetsByID.isEmpty && removedTargetsByTag.isEmpty { return [] }
        var selectors: [Selector] = []
        for (range, name, selector) in removedTargetsByID where name == variable && range.contains(rule.id) {
            selectors.append(selector)
        }
        for (tag, name, selector) in removedTargetsByTag where name == variable && rule.actions.tags.contains(tag) {
            selectors.append(selector)
        }
        return selectors
    }

    /// The request's collections that have slots (the index into `slotSets`; +`namesFlag` for their names).
    enum Source: Int {
        case argsGet = 0, argsPost, headers, cookies, files, filesSizes, partHeaders, multipartFilenames, multipartNames
        case responseHeaders, xmlAttributes
        static let namesFlag = 16
        /// Sources a request body fills (their slots are dropped when it is parsed).
        static let body: [Source] = [.argsPost, .files, .filesSizes, .partHeaders, .multipartFilenames, .multipartNames, .xmlAttributes]
    }

    static let scalarIndex: [VariableName: Int] = {
        var table: [VariableName: Int] = [:]
        for (index, name) in VariableName.allCases.enumerated() { table[name] = index }
        return table
    }()

    private func slots(_ source: Source, names: Bool, _ entries: [Entry]) -> [ValueSlot] {
        let index = source.rawValue + (names ? Source.namesFlag : 0)
        if let existing = slotSets[index] { return existing }
        var made: [ValueSlot] = []
        made.reserveCapacity(entries.count)
        for entry in entries {
            made.append(ValueSlot(name: entry.name, key: entry.key, raw: names ? Array(entry.name.utf8) : entry.value, serial: takeSerial()))
        }
        slotSets[index] = made
        return made
    }

    /// Where a collection's slots are in `slotSets`: a ``Source``'s raw value, plus `Source.namesFlag` for its
    /// names, plus `stride` times the exclusion list's number for the slots that list leaves.
    enum SlotIndex {
        static let stride = 32
    }

    /// The slots of `slotSets[index]` (see ``SlotIndex``), made on first use; `exclusions` filters them when the
    /// index names an exclusion list.
    func slotList(_ index: Int, exclusions: [Selector]) -> [ValueSlot] {
        if let existing = slotSets[index] { return existing }
        if index >= SlotIndex.stride {
            let all = slotList(index % SlotIndex.stride, exclusions: [])
            let kept = all.filter { slot in
                !exclusions.contains { $0.matches(lowercasedKey: slot.key, original: slot.name ?? "", scratch: scratch) }
            }
            slotSets[index] = kept
            return kept
        }
        let names = index >= Source.namesFlag
        let source = Source(rawValue: names ? index - Source.namesFlag : index)!
        return slots(source, names: names, entries(of: source))
    }

    private func entries(of source: Source) -> [Entry] {
        switch source {
        case .argsGet: return argsGet
        case .argsPost: return argsPost
        case .headers: return requestHeaders
        case .cookies: return cookies
        case .files: return files
        case .filesSizes: return filesSizes
        case .partHeaders: return multipartPartHeaders
        case .multipartFilenames: return multipartFilenames
        case .multipartNames: return multipartNames
        case .responseHeaders: return responseHeaders
        case .xmlAttributes: return xmlAttributes
        }
    }

    /// The slot of TX variable `key` (lowercased), kept until the variable is set again. It has serial 0: TX values
    /// change during the request and few rules transform them, so their transformed forms are not kept (each new
    /// serial would take a row of the transform table).
    func txSlot(_ key: String) -> ValueSlot? {
        if let slot = txSlots[key] { return slot }
        guard let entry = tx[key] else { return nil }
        let slot = ValueSlot(name: entry.name, key: entry.key, raw: entry.value)
        txSlots[key] = slot
        return slot
    }

    /// A new value serial (see ``ValueSlot``).
    func takeSerial() -> Int {
        nextSerial += 1
        return nextSerial
    }

    /// Forgets the slots of what a request body or response head fills (called when they are parsed).
    func dropSlots(_ sources: [Source]) {
        for source in sources {
            for base in stride(from: 0, to: slotSets.count, by: SlotIndex.stride) {
                slotSets[base + source.rawValue] = nil
                slotSets[base + source.rawValue + Source.namesFlag] = nil
            }
        }
        for name in [VariableName.requestBody, .xml] { scalarSlots[Self.scalarIndex[name]!] = nil }
    }

    func visit(_ variable: VariableName, selector: Selector, exclusions: [Selector], _ body: (VariableName, ValueSlot) -> Void) {
        func excluded(_ key: String, _ name: String) -> Bool {
            if exclusions.isEmpty { return false }
            return exclusions.contains { $0.matches(lowercasedKey: key, original: name, scratch: scratch) }
        }
        func add(_ entries: [Entry], as label: VariableName, source: Source, namesAsValues: Bool = false) {
            if entries.isEmpty { return }
            let list = slots(source, names: namesAsValues, entries)
            switch selector {
            case .all where exclusions.isEmpty:
                list.withUnsafeBufferPointer { slots in
                    // `list` holds the slots for the call: lend each without retaining it.
                    for index in slots.indices {
                        Unmanaged.passUnretained(slots[index])._withUnsafeGuaranteedRef { body(label, $0) }
                    }
                }
            case .key(let key):
                for slot in list where slot.key == key && !excluded(slot.key, slot.name ?? "") { body(label, slot) }
            default:
                for slot in list {
                    let name = slot.name ?? ""
                    guard selector.matches(lowercasedKey: slot.key, original: name, scratch: scratch), !excluded(slot.key, name) else { continue }
                    body(label, slot)
                }
            }
        }
        func temporary(_ entries: [Entry], as label: VariableName) {
            for entry in entries {
                guard selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch),
                    !excluded(entry.key, entry.name)
                else { continue }
                body(label, ValueSlot(name: entry.name, key: entry.key, raw: entry.value))
            }
        }
        func table(_ entries: [String: Entry], as label: VariableName) {
            if case .key(let key) = selector {
                if let entry = entries[key], !excluded(entry.key, entry.name) {
                    body(label, ValueSlot(name: entry.name, key: entry.key, raw: entry.value))
                }
                return
            }
            for entry in entries.values {
                guard selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch),
                    !excluded(entry.key, entry.name)
                else { continue }
                body(label, ValueSlot(name: entry.name, key: entry.key, raw: entry.value))
            }
        }
        /// A value that stays the same for the whole request: one slot, made on first use.
        func scalar(_ value: @autoclosure () -> [UInt8]?) {
            let index = Self.scalarIndex[variable]!
            if let slot = scalarSlots[index] {
                body(variable, slot)
                return
            }
            guard let bytes = value() else { return }
            let slot = ValueSlot(name: nil, key: "", raw: bytes, serial: takeSerial())
            scalarSlots[index] = slot
            body(variable, slot)
        }
        /// A value that may change during the request (a count, an error flag, the response).
        func changing(_ value: [UInt8]?) {
            if let value { body(variable, ValueSlot(name: nil, key: "", raw: value)) }
        }
        func number(_ value: Int) { changing(Array(String(value).utf8)) }
        switch variable {
        case .args:
            add(argsGet, as: .args, source: .argsGet)
            add(argsPost, as: .args, source: .argsPost)
        case .argsGet: add(argsGet, as: variable, source: .argsGet)
        case .argsPost: add(argsPost, as: variable, source: .argsPost)
        case .argsNames:
            add(argsGet, as: variable, source: .argsGet, namesAsValues: true)
            add(argsPost, as: variable, source: .argsPost, namesAsValues: true)
        case .argsGetNames: add(argsGet, as: variable, source: .argsGet, namesAsValues: true)
        case .argsPostNames: add(argsPost, as: variable, source: .argsPost, namesAsValues: true)
        case .requestHeaders: add(requestHeaders, as: variable, source: .headers)
        case .requestHeadersNames: add(requestHeaders, as: variable, source: .headers, namesAsValues: true)
        case .requestCookies: add(cookies, as: variable, source: .cookies)
        case .requestCookiesNames: add(cookies, as: variable, source: .cookies, namesAsValues: true)
        case .responseHeaders: add(responseHeaders, as: variable, source: .responseHeaders)
        case .responseHeadersNames: add(responseHeaders, as: variable, source: .responseHeaders, namesAsValues: true)
        case .files: add(files, as: variable, source: .files)
        case .filesNames: add(files, as: variable, source: .files, namesAsValues: true)
        case .filesSizes: add(filesSizes, as: variable, source: .filesSizes)
        case .filesTmpNames: break
        case .multipartPartHeaders: add(multipartPartHeaders, as: variable, source: .partHeaders)
        case .multipartFilename: add(multipartFilenames, as: variable, source: .multipartFilenames)
        case .multipartName: add(multipartNames, as: variable, source: .multipartNames)
        case .tx:
            if case .key(let key) = selector, exclusions.isEmpty {
                if let slot = txSlot(key) { body(.tx, slot) }
            } else {
                table(tx, as: .tx)
            }
        case .ip, .global, .session, .user, .resource: table(persistent[variable] ?? [:], as: variable)
        case .env: table(env, as: .env)
        case .geo: break
        case .rule:
            if let rule = currentRule {
                var entries = [Entry(name: "id", value: Array(String(rule.id).utf8))]
                if let message = rule.actions.message { entries.append(Entry(name: "msg", value: message.expand(self))) }
                if let severity = rule.actions.severity { entries.append(Entry(name: "severity", value: Array(String(severity).utf8))) }
                temporary(entries, as: .rule)
            }
        case .xml:
            if case .key(let key) = selector, key.hasPrefix("//@") {
                if !xmlAttributes.isEmpty {
                    for slot in slots(.xmlAttributes, names: false, xmlAttributes) { body(.xml, slot) }
                }
            } else if xmlText != nil {
                scalar(xmlText)
            }
        case .matchedVars:
            for entry in matchedVars where selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch) {
                body(.matchedVars, ValueSlot(name: entry.name, key: entry.key, raw: entry.value))
            }
        case .matchedVarsNames:
            for entry in matchedVars { body(.matchedVarsNames, ValueSlot(name: entry.name, key: entry.key, raw: Array(entry.name.utf8))) }
        case .argsCombinedSize:
            number((argsGet + argsPost).reduce(0) { $0 + $1.name.utf8.count + $1.value.count })
        case .filesCombinedSize:
            number(filesSizes.reduce(0) { $0 + (Int(String(decoding: $1.value, as: UTF8.self)) ?? 0) })
        case .requestURI: scalar(requestURI)
        case .requestURIRaw: scalar(Array(request.target.utf8))
        case .requestFilename: scalar(requestFilename)
        case .requestBasename: scalar(requestBasename)
        case .requestLine: scalar(requestLine)
        case .requestMethod: scalar(Array(request.method.utf8))
        case .requestProtocol: scalar(Array(request.protocolVersion.utf8))
        case .queryString: scalar(queryString)
        case .requestBody:
            // As in Coraza: the raw body is a variable for URL-encoded and JSON bodies, or when a rule forces it
            // (not for XML and multipart, whose parts CRS reads through XML and the multipart variables).
            if bodyProcessor == .urlencoded || bodyProcessor == .json || forceRequestBodyVariable { scalar(requestBody) }
        case .requestBodyLength: number(requestBodyLength)
        case .reqbodyError, .reqbodyProcessorError: changing(bodyError == nil ? [0x30] : [0x31])
        case .reqbodyErrorMsg, .reqbodyProcessorErrorMsg: changing(Array((bodyError ?? "").utf8))
        case .reqbodyProcessor: changing(bodyProcessor.map { Array($0.rawValue.utf8) } ?? [])
        case .urlencodedError: changing(urlencodedError ? [0x31] : [0x30])
        case .inboundDataError, .outboundDataError: changing([0x30])
        case .fullRequest:
            var text = requestLine + [0x0D, 0x0A]
            for header in requestHeaders { text += Array(header.name.utf8) + [0x3A, 0x20] + header.value + [0x0D, 0x0A] }
            changing(text + [0x0D, 0x0A] + requestBody)
        case .fullRequestLength:
            number(requestLine.count + requestHeaders.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 4 } + 4 + requestBody.count)
        case .matchedVar: changing(matchedVar?.value ?? [])
        case .matchedVarName: changing(Array((matchedVar?.name ?? "").utf8))
        case .remoteAddr: scalar(Array(request.remoteAddress.utf8))
        case .remotePort: number(request.remotePort)
        case .remoteHost: scalar(Array(request.remoteAddress.utf8))
        case .remoteUser, .authType, .userID, .sessionID, .webserverErrorLog, .pathInfo: break
        case .serverName: scalar(Array((header("host") ?? request.serverAddress).utf8))
        case .serverAddr: scalar(Array(request.serverAddress.utf8))
        case .serverPort: number(request.serverPort)
        case .uniqueID: scalar(Array(request.uniqueID.utf8))
        case .duration: number(Int(Self.nowMicros() - startTime))
        case .highestSeverity: number(highestSeverity)
        case .responseStatus: if let responseStatus { number(responseStatus) }
        case .responseProtocol: if responseStatus != nil { changing(Array(responseProtocol.utf8)) }
        case .responseBody: if responseBody != nil { scalar(responseBody) }
        case .responseContentType:
            if let type = responseHeaders.first(where: { $0.key == "content-type" }) { changing(type.value) }
        case .responseContentLength:
            if let length = responseHeaders.first(where: { $0.key == "content-length" }) { changing(length.value) }
        case .statusLine:
            if let responseStatus { changing(Array("\(responseProtocol) \(responseStatus)".utf8)) }
        case .time, .timeEpoch, .timeYear, .timeMon, .timeDay, .timeHour, .timeMin, .timeSec, .timeWday:
            var now = time(nil)
            var parts = tm()
            gmtime_r(&now, &parts)
            switch variable {
            case .timeEpoch: number(Int(now))
            case .timeYear: number(Int(parts.tm_year) + 1900)
            case .timeMon: number(Int(parts.tm_mon))
            case .timeDay: number(Int(parts.tm_mday))
            case .timeHour: number(Int(parts.tm_hour))
            case .timeMin: number(Int(parts.tm_min))
            case .timeSec: number(Int(parts.tm_sec))
            case .timeWday: number(Int(parts.tm_wday))
            default: changing(Array("\(parts.tm_hour):\(parts.tm_min):\(parts.tm_sec)".utf8))
            }
        case .multipartStrictError, .multipartUnmatchedBoundary, .multipartBoundaryQuoted, .multipartBoundaryWhitespace,
            .multipartDataBefore, .multipartDataAfter, .multipartHeaderFolding, .multipartLFLine, .multipartCRLFLFLines,
            .multipartMissingSemicolon, .multipartInvalidQuoting, .multipartInvalidPart, .multipartInvalidHeaderFolding,
            .multipartFileLimitExceeded:
            if bodyProcessor == .multipart { number(multipartFlags[variable] ?? 0) }
        }
    }

    /// `%{…}` in a macro: the first value (TX keys and the like), or the whole variable.
    func macroValue(_ variable: VariableName, key: String?) -> [UInt8] {
        switch variable {
        case .tx:
            guard let key else { return [] }
            return tx[key]?.value ?? []
        case .matchedVar: return matchedVar?.value ?? []
        case .matchedVarName: return Array((matchedVar?.name ?? "").utf8)
        case .rule:
            guard let rule = currentRule else { return [] }
            switch key {
            case "id": return Array(String(rule.id).utf8)
            case "msg": return rule.actions.message?.expand(self) ?? []
            case "severity": return Array(String(rule.actions.severity ?? 0).utf8)
            case "logdata": return rule.actions.logData?.expand(self) ?? []
            default: return []
            }
        default:
            var first: [UInt8]?
            let selector: Selector = key.map { .key($0) } ?? .all
            visit(variable, selector: selector, exclusions: []) { _, slot in if first == nil { first = slot.raw } }
            return first ?? []
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
