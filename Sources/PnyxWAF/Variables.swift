/// The SecLang variables Pnyx knows. Collections hold named entries (a selector picks some); the rest hold one
/// value (or none, when the request has nothing for them).
public enum VariableName: String, Sendable, CaseIterable {
    // Collections.
    case args = "ARGS", argsGet = "ARGS_GET", argsPost = "ARGS_POST"
    case argsNames = "ARGS_NAMES", argsGetNames = "ARGS_GET_NAMES", argsPostNames = "ARGS_POST_NAMES"
    case requestHeaders = "REQUEST_HEADERS", requestHeadersNames = "REQUEST_HEADERS_NAMES"
    case requestCookies = "REQUEST_COOKIES", requestCookiesNames = "REQUEST_COOKIES_NAMES"
    case responseHeaders = "RESPONSE_HEADERS", responseHeadersNames = "RESPONSE_HEADERS_NAMES"
    case files = "FILES", filesNames = "FILES_NAMES", filesSizes = "FILES_SIZES", filesTmpNames = "FILES_TMPNAMES"
    case multipartPartHeaders = "MULTIPART_PART_HEADERS"
    case tx = "TX", ip = "IP", global = "GLOBAL", session = "SESSION", user = "USER", resource = "RESOURCE"
    case env = "ENV", geo = "GEO", rule = "RULE", xml = "XML"
    case matchedVars = "MATCHED_VARS", matchedVarsNames = "MATCHED_VARS_NAMES"
    // Single values.
    case argsCombinedSize = "ARGS_COMBINED_SIZE", filesCombinedSize = "FILES_COMBINED_SIZE"
    case requestURI = "REQUEST_URI", requestURIRaw = "REQUEST_URI_RAW", requestFilename = "REQUEST_FILENAME"
    case requestBasename = "REQUEST_BASENAME", requestLine = "REQUEST_LINE", requestMethod = "REQUEST_METHOD"
    case requestProtocol = "REQUEST_PROTOCOL", queryString = "QUERY_STRING", requestBody = "REQUEST_BODY"
    case requestBodyLength = "REQUEST_BODY_LENGTH", reqbodyError = "REQBODY_ERROR", reqbodyErrorMsg = "REQBODY_ERROR_MSG"
    case reqbodyProcessor = "REQBODY_PROCESSOR", reqbodyProcessorError = "REQBODY_PROCESSOR_ERROR"
    case reqbodyProcessorErrorMsg = "REQBODY_PROCESSOR_ERROR_MSG"
    case urlencodedError = "URLENCODED_ERROR", inboundDataError = "INBOUND_DATA_ERROR", outboundDataError = "OUTBOUND_DATA_ERROR"
    case fullRequest = "FULL_REQUEST", fullRequestLength = "FULL_REQUEST_LENGTH"
    case matchedVar = "MATCHED_VAR", matchedVarName = "MATCHED_VAR_NAME"
    case remoteAddr = "REMOTE_ADDR", remotePort = "REMOTE_PORT", remoteHost = "REMOTE_HOST", remoteUser = "REMOTE_USER"
    case serverName = "SERVER_NAME", serverAddr = "SERVER_ADDR", serverPort = "SERVER_PORT"
    case uniqueID = "UNIQUE_ID", duration = "DURATION", highestSeverity = "HIGHEST_SEVERITY"
    case responseStatus = "RESPONSE_STATUS", responseProtocol = "RESPONSE_PROTOCOL", responseBody = "RESPONSE_BODY"
    case responseContentType = "RESPONSE_CONTENT_TYPE", responseContentLength = "RESPONSE_CONTENT_LENGTH"
    case statusLine = "STATUS_LINE", pathInfo = "PATH_INFO", authType = "AUTH_TYPE", userID = "USERID"
    case sessionID = "SESSIONID", webserverErrorLog = "WEBSERVER_ERROR_LOG"
    case time = "TIME", timeEpoch = "TIME_EPOCH", timeYear = "TIME_YEAR", timeMon = "TIME_MON", timeDay = "TIME_DAY"
    case timeHour = "TIME_HOUR", timeMin = "TIME_MIN", timeSec = "TIME_SEC", timeWday = "TIME_WDAY"
    case multipartFilename = "MULTIPART_FILENAME", multipartName = "MULTIPART_NAME"
    case multipartStrictError = "MULTIPART_STRICT_ERROR", multipartUnmatchedBoundary = "MULTIPART_UNMATCHED_BOUNDARY"
    case multipartBoundaryQuoted = "MULTIPART_BOUNDARY_QUOTED", multipartBoundaryWhitespace = "MULTIPART_BOUNDARY_WHITESPACE"
    case multipartDataBefore = "MULTIPART_DATA_BEFORE", multipartDataAfter = "MULTIPART_DATA_AFTER"
    case multipartHeaderFolding = "MULTIPART_HEADER_FOLDING", multipartLFLine = "MULTIPART_LF_LINE"
    case multipartCRLFLFLines = "MULTIPART_CRLF_LF_LINES", multipartMissingSemicolon = "MULTIPART_MISSING_SEMICOLON"
    case multipartInvalidQuoting = "MULTIPART_INVALID_QUOTING", multipartInvalidPart = "MULTIPART_INVALID_PART"
    case multipartInvalidHeaderFolding = "MULTIPART_INVALID_HEADER_FOLDING"
    case multipartFileLimitExceeded = "MULTIPART_FILE_LIMIT_EXCEEDED"

    /// Whether the variable is a collection whose entries a selector can pick.
    var isCollection: Bool {
        switch self {
        case .args, .argsGet, .argsPost, .argsNames, .argsGetNames, .argsPostNames, .requestHeaders,
            .requestHeadersNames, .requestCookies, .requestCookiesNames, .responseHeaders, .responseHeadersNames,
            .files, .filesNames, .filesSizes, .filesTmpNames, .multipartPartHeaders, .tx, .ip, .global, .session,
            .user, .resource, .env, .geo, .rule, .xml, .matchedVars, .matchedVarsNames:
            return true
        default:
            return false
        }
    }

    static let byName: [String: VariableName] = {
        var table: [String: VariableName] = [:]
        for name in VariableName.allCases { table[name.rawValue] = name }
        return table
    }()
}

/// Which entries of a collection a target names.
public enum Selector: Sendable {
    case all
    /// One key, compared case-insensitively (stored lowercased).
    case key(String)
    /// Keys matching a regular expression (`ARGS:/^id_/`).
    case regex(Regex)

    func matches(lowercasedKey: String, original: String, scratch: RegexScratch) -> Bool {
        switch self {
        case .all: return true
        case .key(let key): return key == lowercasedKey
        case .regex(let regex): return regex.matches(original, scratch: scratch)
        }
    }

    var text: String {
        switch self {
        case .all: return ""
        case .key(let key): return key
        case .regex(let regex): return "/\(regex.pattern)/"
        }
    }
}

/// One target of a rule: `ARGS`, `ARGS:id`, `&TX:foo`, `REQUEST_COOKIES:/^utm/`, with the exclusions other targets
/// (`!ARGS:password`) or `SecRuleUpdateTargetById` / `ctl:ruleRemoveTargetById` add.
public struct VariableTarget: Sendable {
    public var name: VariableName
    public var selector: Selector
    /// `&VAR`: the number of entries instead of their values.
    public var count: Bool
    public var exclusions: [Selector] = []

    /// Parses one `|`-separated piece of a rule's variable list (without a leading `!`).
    static func parse(_ text: String, location: SourceLocation) throws(SecLangError) -> VariableTarget {
        var body = Substring(text)
        var count = false
        if body.hasPrefix("&") {
            count = true
            body = body.dropFirst()
        }
        let nameText: Substring
        var selectorText: Substring?
        if let colon = body.firstIndex(of: ":") {
            nameText = body[..<colon]
            selectorText = body[body.index(after: colon)...]
        } else if let dot = body.firstIndex(of: "."), body.uppercased().hasPrefix("TX.") || body.uppercased().hasPrefix("IP.") {
            nameText = body[..<dot]
            selectorText = body[body.index(after: dot)...]
        } else {
            nameText = body
        }
        guard let name = VariableName.byName[nameText.uppercased()] else {
            throw SecLangError(location, "unknown variable \(nameText)")
        }
        var selector = Selector.all
        if let selectorText, !selectorText.isEmpty {
            selector = try parseSelector(String(selectorText), location: location)
            if !name.isCollection {
                // REQUEST_URI:foo has no meaning; ModSecurity ignores the selector on a scalar, so does Pnyx.
                selector = .all
            }
        }
        return VariableTarget(name: name, selector: selector, count: count)
    }

    static func parseSelector(_ text: String, location: SourceLocation) throws(SecLangError) -> Selector {
        var text = text
        if text.hasPrefix("'"), text.hasSuffix("'"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        if text.count >= 2, text.hasPrefix("/"), text.hasSuffix("/") {
            do {
                return .regex(try Regex(String(text.dropFirst().dropLast()), caseless: true))
            } catch {
                throw SecLangError(location, "\(error) in selector \(text)")
            }
        }
        return .key(text.lowercased())
    }

    /// Parses a whole variable list: `ARGS|!ARGS:foo|REQUEST_HEADERS:User-Agent`.
    static func parseList(_ text: String, location: SourceLocation) throws(SecLangError) -> [VariableTarget] {
        var targets: [VariableTarget] = []
        var exclusions: [(VariableName, Selector)] = []
        for piece in splitList(text) {
            var piece = piece.trimmingBlanks()
            if piece.isEmpty { continue }
            if piece.hasPrefix("!") {
                piece.removeFirst()
                let target = try parse(piece, location: location)
                exclusions.append((target.name, target.selector))
            } else {
                targets.append(try parse(piece, location: location))
            }
        }
        for (name, selector) in exclusions {
            for index in targets.indices where targets[index].name == name {
                targets[index].exclusions.append(selector)
            }
        }
        if targets.isEmpty { throw SecLangError(location, "rule has no variables") }
        return targets
    }

    /// Splits on `|` outside `/regex/` selectors (a selector that starts `:/` and ends at a `/` followed by `|` or
    /// the end of the list).
    static func splitList(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var parts: [String] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x3A, index + 1 < bytes.count, bytes[index + 1] == 0x2F {
                var cursor = index + 2
                var close: Int?
                while cursor < bytes.count {
                    if bytes[cursor] == 0x5C { cursor += 2; continue }
                    if bytes[cursor] == 0x2F, cursor + 1 == bytes.count || bytes[cursor + 1] == 0x7C {
                        close = cursor
                        break
                    }
                    cursor += 1
                }
                if let close {
                    index = close + 1
                    continue
                }
            }
            if bytes[index] == 0x7C {
                parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
                start = index + 1
            }
            index += 1
        }
        parts.append(String(decoding: bytes[start...], as: UTF8.self))
        return parts
    }
}

extension String {
    func trimmingBlanks() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
