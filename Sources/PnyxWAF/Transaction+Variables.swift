extension Transaction {
    /// The values a rule target names, each labelled as MATCHED_VAR_NAME shows it (`ARGS:q`, `REQUEST_URI`).
    func values(of target: VariableTarget, rule: Rule) -> [Entry] {
        var out: [Entry] = []
        let exclusions = runtimeExclusions(for: rule, variable: target.name)
        collect(target.name, selector: target.selector, exclusions: target.exclusions + exclusions, into: &out)
        if target.count {
            return [Entry(name: target.name.rawValue, key: "", value: Array(String(out.count).utf8))]
        }
        return out
    }

    private func runtimeExclusions(for rule: Rule, variable: VariableName) -> [Selector] {
        var selectors: [Selector] = []
        for (range, name, selector) in removedTargetsByID where name == variable && range.contains(rule.id) {
            selectors.append(selector)
        }
        for (tag, name, selector) in removedTargetsByTag where name == variable && rule.actions.tags.contains(tag) {
            selectors.append(selector)
        }
        return selectors
    }

    private func collect(_ variable: VariableName, selector: Selector, exclusions: [Selector], into out: inout [Entry]) {
        func add(_ entries: [Entry], label: String, namesAsValues: Bool = false) {
            for entry in entries {
                guard selector.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch) else { continue }
                if !exclusions.isEmpty,
                    exclusions.contains(where: { $0.matches(lowercasedKey: entry.key, original: entry.name, scratch: scratch) })
                {
                    continue
                }
                let value = namesAsValues ? Array(entry.name.utf8) : entry.value
                out.append(Entry(name: label + ":" + entry.name, key: entry.key, value: value))
            }
        }
        func scalar(_ value: [UInt8]?) {
            if let value { out.append(Entry(name: variable.rawValue, key: "", value: value)) }
        }
        func number(_ value: Int) { scalar(Array(String(value).utf8)) }
        switch variable {
        case .args:
            add(argsGet, label: "ARGS")
            add(argsPost, label: "ARGS")
        case .argsGet: add(argsGet, label: "ARGS_GET")
        case .argsPost: add(argsPost, label: "ARGS_POST")
        case .argsNames:
            add(argsGet, label: "ARGS_NAMES", namesAsValues: true)
            add(argsPost, label: "ARGS_NAMES", namesAsValues: true)
        case .argsGetNames: add(argsGet, label: "ARGS_GET_NAMES", namesAsValues: true)
        case .argsPostNames: add(argsPost, label: "ARGS_POST_NAMES", namesAsValues: true)
        case .requestHeaders: add(requestHeaders, label: "REQUEST_HEADERS")
        case .requestHeadersNames: add(requestHeaders, label: "REQUEST_HEADERS_NAMES", namesAsValues: true)
        case .requestCookies: add(cookies, label: "REQUEST_COOKIES")
        case .requestCookiesNames: add(cookies, label: "REQUEST_COOKIES_NAMES", namesAsValues: true)
        case .responseHeaders: add(responseHeaders, label: "RESPONSE_HEADERS")
        case .responseHeadersNames: add(responseHeaders, label: "RESPONSE_HEADERS_NAMES", namesAsValues: true)
        case .files: add(files, label: "FILES")
        case .filesNames: add(files, label: "FILES_NAMES", namesAsValues: true)
        case .filesSizes: add(filesSizes, label: "FILES_SIZES")
        case .filesTmpNames: break
        case .multipartPartHeaders: add(multipartPartHeaders, label: "MULTIPART_PART_HEADERS")
        case .multipartFilename: add(multipartFilenames, label: "MULTIPART_FILENAME")
        case .multipartName: add(multipartNames, label: "MULTIPART_NAME")
        case .tx: add(Array(tx.values), label: "TX")
        case .ip, .global, .session, .user, .resource:
            add(Array((persistent[variable] ?? [:]).values), label: variable.rawValue)
        case .env: add(Array(env.values), label: "ENV")
        case .geo: break
        case .rule:
            if let rule = currentRule {
                var entries = [Entry(name: "id", value: Array(String(rule.id).utf8))]
                if let message = rule.actions.message { entries.append(Entry(name: "msg", value: message.expand(self))) }
                if let severity = rule.actions.severity { entries.append(Entry(name: "severity", value: Array(String(severity).utf8))) }
                add(entries, label: "RULE")
            }
        case .xml:
            if case .key(let key) = selector, key.hasPrefix("//@") || key == "//@*" {
                for attribute in xmlAttributes { out.append(Entry(name: "XML:" + attribute.name, key: attribute.key, value: attribute.value)) }
            } else if let xmlText {
                out.append(Entry(name: "XML", key: "", value: xmlText))
            }
        case .matchedVars: add(matchedVars.map { Entry(name: $0.name, key: $0.key, value: $0.value) }, label: "MATCHED_VARS")
        case .matchedVarsNames:
            for entry in matchedVars { out.append(Entry(name: "MATCHED_VARS_NAMES:" + entry.name, key: entry.key, value: Array(entry.name.utf8))) }
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
        case .reqbodyError, .reqbodyProcessorError: scalar(bodyError == nil ? [0x30] : [0x31])
        case .reqbodyErrorMsg, .reqbodyProcessorErrorMsg: scalar(Array((bodyError ?? "").utf8))
        case .reqbodyProcessor: scalar(bodyProcessor.map { Array($0.rawValue.utf8) } ?? [])
        case .urlencodedError: scalar(urlencodedError ? [0x31] : [0x30])
        case .inboundDataError, .outboundDataError: scalar([0x30])
        case .fullRequest:
            var text = requestLine + [0x0D, 0x0A]
            for header in requestHeaders { text += Array(header.name.utf8) + [0x3A, 0x20] + header.value + [0x0D, 0x0A] }
            scalar(text + [0x0D, 0x0A] + requestBody)
        case .fullRequestLength:
            number(requestLine.count + requestHeaders.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 4 } + 4 + requestBody.count)
        case .matchedVar: scalar(matchedVar?.value ?? [])
        case .matchedVarName: scalar(Array((matchedVar?.name ?? "").utf8))
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
        case .responseProtocol: if responseStatus != nil { scalar(Array(responseProtocol.utf8)) }
        case .responseBody: if let responseBody { scalar(responseBody) }
        case .responseContentType:
            if let type = responseHeaders.first(where: { $0.key == "content-type" }) { scalar(type.value) }
        case .responseContentLength:
            if let length = responseHeaders.first(where: { $0.key == "content-length" }) { scalar(length.value) }
        case .statusLine:
            if let responseStatus { scalar(Array("\(responseProtocol) \(responseStatus)".utf8)) }
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
            default: scalar(Array("\(parts.tm_hour):\(parts.tm_min):\(parts.tm_sec)".utf8))
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
            var out: [Entry] = []
            let selector: Selector = key.map { .key($0) } ?? .all
            collect(variable, selector: selector, exclusions: [], into: &out)
            return out.first?.value ?? []
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
