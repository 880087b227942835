/// Where a value came from, for MATCHED_VAR_NAME (`ARGS:q`, `REQUEST_URI`): the string is made only on a match.
struct ValueLabel {
    var variable: VariableName
    var name: String?
    var text: String { name.map { variable.rawValue + ":" + $0 } ?? variable.rawValue }
}

extension Transaction {
    /// Calls `body` with each value a rule target names (after its selector and exclusions): its label, its bytes,
    /// and a key for the transformation cache (-1: not cacheable, the value can change during the request).
    /// A `&` target gives one value, the count.
    func forEachValue(of target: VariableTarget, rule: Rule, _ body: (ValueLabel, [UInt8], Int) -> Void) {
        let runtime = runtimeExclusions(for: rule, variable: target.name)
        let exclusions = runtime.isEmpty ? target.exclusions : target.exclusions + runtime
        if target.count {
            var count = 0
            visit(target.name, selector: target.selector, exclusions: exclusions) { _, _, _ in count += 1 }
            body(ValueLabel(variable: target.name, name: nil), Array(String(count).utf8), -1)
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

    /// Cache-key bases of the request's collections (code << 24 | index).
    private enum Source: Int {
        case argsGet = 1, argsPost, headers, cookies, files, filesSizes, partHeaders, multipartFilenames, multipartNames
        case responseHeaders, xmlAttributes
        static let namesFlag = 32
    }

    private static let scalarCodes: [VariableName: Int] = {
        var table: [VariableName: Int] = [:]
        for (index, name) in VariableName.allCases.enumerated() { table[name] = 64 + index }
        return table
    }()

    func visit(_ variable: VariableName, selector: Selector, exclusions: [Selector], _ body: (ValueLabel, [UInt8], Int) -> Void) {
        func excluded(_ entry: Entry) -> Bool {
            if exclusions.isEmpty { return false }
            return exclusions.contains { $0.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch) }
        }
        func add(_ entries: [Entry], as label: VariableName, source: Source?, namesAsValues: Bool = false) {
            if case .key(let key) = selector {
                for index in entries.indices where entries[index].key == key && !excluded(entries[index]) {
                    emit(entries, index)
                }
                return
            }
            for index in entries.indices {
                let entry = entries[index]
                guard selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch), !excluded(entry) else { continue }
                emit(entries, index)
            }
            func emit(_ entries: [Entry], _ index: Int) {
                let entry = entries[index]
                var cacheKey = -1
                if let source { cacheKey = (source.rawValue + (namesAsValues ? Source.namesFlag : 0)) << 24 | index }
                body(ValueLabel(variable: label, name: entry.name), namesAsValues ? Array(entry.name.utf8) : entry.value, cacheKey)
            }
        }
        func table(_ entries: [String: Entry], as label: VariableName) {
            if case .key(let key) = selector {
                if let entry = entries[key], !excluded(entry) { body(ValueLabel(variable: label, name: entry.name), entry.value, -1) }
                return
            }
            for entry in entries.values {
                guard selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch), !excluded(entry) else { continue }
                body(ValueLabel(variable: label, name: entry.name), entry.value, -1)
            }
        }
        let code = Self.scalarCodes[variable]! << 24
        func scalar(_ value: [UInt8]?, cacheable: Bool = true) {
            if let value { body(ValueLabel(variable: variable, name: nil), value, cacheable ? code : -1) }
        }
        func number(_ value: Int) { scalar(Array(String(value).utf8), cacheable: false) }
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
        case .tx: table(tx, as: .tx)
        case .ip, .global, .session, .user, .resource: table(persistent[variable] ?? [:], as: variable)
        case .env: table(env, as: .env)
        case .geo: break
        case .rule:
            if let rule = currentRule {
                var entries = [Entry(name: "id", value: Array(String(rule.id).utf8))]
                if let message = rule.actions.message { entries.append(Entry(name: "msg", value: message.expand(self))) }
                if let severity = rule.actions.severity { entries.append(Entry(name: "severity", value: Array(String(severity).utf8))) }
                add(entries, as: .rule, source: nil)
            }
        case .xml:
            if case .key(let key) = selector, key.hasPrefix("//@") {
                for (index, attribute) in xmlAttributes.enumerated() {
                    body(ValueLabel(variable: .xml, name: attribute.name), attribute.value, Source.xmlAttributes.rawValue << 24 | index)
                }
            } else if let xmlText {
                body(ValueLabel(variable: .xml, name: nil), xmlText, code)
            }
        case .matchedVars:
            for entry in matchedVars where selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch) {
                body(ValueLabel(variable: .matchedVars, name: entry.name), entry.value, -1)
            }
        case .matchedVarsNames:
            for entry in matchedVars { body(ValueLabel(variable: .matchedVarsNames, name: entry.name), Array(entry.name.utf8), -1) }
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
        case .reqbodyError, .reqbodyProcessorError: scalar(bodyError == nil ? [0x30] : [0x31], cacheable: false)
        case .reqbodyErrorMsg, .reqbodyProcessorErrorMsg: scalar(Array((bodyError ?? "").utf8), cacheable: false)
        case .reqbodyProcessor: scalar(bodyProcessor.map { Array($0.rawValue.utf8) } ?? [], cacheable: false)
        case .urlencodedError: scalar(urlencodedError ? [0x31] : [0x30], cacheable: false)
        case .inboundDataError, .outboundDataError: scalar([0x30])
        case .fullRequest:
            var text = requestLine + [0x0D, 0x0A]
            for header in requestHeaders { text += Array(header.name.utf8) + [0x3A, 0x20] + header.value + [0x0D, 0x0A] }
            scalar(text + [0x0D, 0x0A] + requestBody, cacheable: false)
        case .fullRequestLength:
            number(requestLine.count + requestHeaders.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 4 } + 4 + requestBody.count)
        case .matchedVar: scalar(matchedVar?.value ?? [], cacheable: false)
        case .matchedVarName: scalar(Array((matchedVar?.name ?? "").utf8), cacheable: false)
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
        case .responseProtocol: if responseStatus != nil { scalar(Array(responseProtocol.utf8), cacheable: false) }
        case .responseBody: if let responseBody { scalar(responseBody, cacheable: false) }
        case .responseContentType:
            if let type = responseHeaders.first(where: { $0.key == "content-type" }) { scalar(type.value, cacheable: false) }
        case .responseContentLength:
            if let length = responseHeaders.first(where: { $0.key == "content-length" }) { scalar(length.value, cacheable: false) }
        case .statusLine:
            if let responseStatus { scalar(Array("\(responseProtocol) \(responseStatus)".utf8), cacheable: false) }
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
            default: scalar(Array("\(parts.tm_hour):\(parts.tm_min):\(parts.tm_sec)".utf8), cacheable: false)
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
            visit(variable, selector: selector, exclusions: []) { _, value, _ in if first == nil { first = value } }
            return first ?? []
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
