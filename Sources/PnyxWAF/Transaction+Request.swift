extension Transaction {
    /// Fills the request-line, header, cookie and query variables.
    func parseRequestHead() {
        var target = Array(request.target.utf8)
        requestLine = Array("\(request.method) \(request.target) \(request.protocolVersion)".utf8)
        // Absolute-form: REQUEST_URI drops the scheme and authority (REQUEST_URI_RAW keeps them).
        if let schemeEnd = Decoders.find([0x3A, 0x2F, 0x2F], in: target), target.first != 0x2F {
            let afterAuthority = target[(schemeEnd + 3)...].firstIndex(of: 0x2F) ?? target.count
            target = Array(target[afterAuthority...])
            if target.isEmpty { target = [0x2F] }
        }
        requestURI = target
        let question = target.firstIndex(of: 0x3F)
        requestFilename = Array(target[..<(question ?? target.count)])
        if let hash = requestFilename.firstIndex(of: 0x23) { requestFilename = Array(requestFilename[..<hash]) }
        if let question {
            queryString = Array(target[(question + 1)...])
            if let hash = queryString.firstIndex(of: 0x23) { queryString = Array(queryString[..<hash]) }
        }
        // As ModSecurity and Coraza see it: the path percent-decoded (`+` stays a plus).
        requestFilename = Decoders.urlDecode(requestFilename, unicode: false, plusAsSpace: false)
        let lastSlash = requestFilename.lastIndex(where: { $0 == 0x2F || $0 == 0x5C })
        requestBasename = lastSlash.map { Array(requestFilename[($0 + 1)...]) } ?? requestFilename
        argsGet = Self.parseArguments(queryString, separator: rules.settings.argumentSeparator, error: &urlencodedError)
        limitArguments()
        for header in request.headers {
            requestHeaders.append(Entry(name: header.name, value: Array(header.value.utf8)))
            if header.name.lowercased() == "cookie" { parseCookies(header.value) }
        }
        bodyProcessor = defaultBodyProcessor()
    }

    func header(_ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name }?.value
    }

    /// ModSecurity picks URLENCODED and MULTIPART from the Content-Type itself; JSON and XML come from
    /// `ctl:requestBodyProcessor` (CRS sets them in phase 1).
    func defaultBodyProcessor() -> BodyProcessorKind? {
        guard let type = header("content-type")?.lowercased() else { return nil }
        if type.hasPrefix("application/x-www-form-urlencoded") { return .urlencoded }
        if type.hasPrefix("multipart/form-data") { return .multipart }
        return nil
    }

    func parseCookies(_ value: String) {
        for piece in value.split(separator: ";") {
            let text = String(piece).trimmingBlanks()
            if text.isEmpty { continue }
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals]).trimmingBlanks()
                let cookieValue = String(text[text.index(after: equals)...]).trimmingBlanks()
                cookies.append(Entry(name: name, value: Array(cookieValue.utf8)))
            } else {
                cookies.append(Entry(name: text, value: []))
            }
        }
    }

    /// `a=1&b=2`: names and values URL-decoded (`+` is a blank); a piece without `=` is a name with no value.
    static func parseArguments(_ bytes: [UInt8], separator: UInt8, error: inout Bool) -> [Entry] {
        var entries: [Entry] = []
        for piece in bytes.split(separator: separator, omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>, value: ArraySlice<UInt8>
            if let equals = piece.firstIndex(of: 0x3D) {
                name = piece[..<equals]
                value = piece[(equals + 1)...]
            } else {
                name = piece
                value = []
            }
            if !validURLEncoding(name) || !validURLEncoding(value) { error = true }
            let decodedName = Decoders.urlDecode(Array(name), unicode: false)
            entries.append(Entry(name: String(decoding: decodedName, as: UTF8.self), value: Decoders.urlDecode(Array(value), unicode: false)))
        }
        return entries
    }

    static func validURLEncoding(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x25 {
                guard index + 2 < bytes.endIndex, Decoders.isHex(bytes[index + 1]), Decoders.isHex(bytes[index + 2]) else {
                    return false
                }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }

    /// Runs the body processor the request asked for; failures set REQBODY_ERROR as CRS expects.
    /// Applies `SecArgumentsLimit`: arguments past it are dropped before any rule sees them, and REQBODY_ERROR is set
    /// so that the request is refused rather than passed with arguments nobody inspected.
    func limitArguments() {
        let limit = rules.settings.argumentsLimit
        guard argsGet.count + argsPost.count > limit else { return }
        let total = argsGet.count + argsPost.count
        if argsGet.count > limit { argsGet.removeLast(argsGet.count - limit) }
        argsPost.removeLast(argsPost.count - (limit - argsGet.count))
        if bodyError == nil { bodyError = "too many arguments (\(total), SecArgumentsLimit \(limit))" }
    }

    func parseRequestBody(_ body: [UInt8]) {
        defer { limitArguments() }
        guard let processor = bodyProcessor, !body.isEmpty else { return }
        switch processor {
        case .urlencoded:
            argsPost = Self.parseArguments(body, separator: rules.settings.argumentSeparator, error: &urlencodedError)
        case .multipart:
            var parser = MultipartParser(contentType: header("content-type") ?? "")
            parser.parse(body)
            argsPost = parser.arguments
            files = parser.files
            filesSizes = parser.fileSizes
            multipartPartHeaders = parser.partHeaders
            multipartFilenames = parser.files
            multipartNames = parser.names
            multipartFlags = parser.flags
            if let error = parser.error { bodyError = error }
        case .json:
            var parser = JSONArguments()
            if let error = parser.parse(body) {
                bodyError = error
            }
            argsPost = parser.arguments
        case .xml:
            var parser = XMLText()
            if let error = parser.parse(body) { bodyError = error }
            xmlText = parser.text
            xmlAttributes = parser.attributes
        }
    }
}
