/// `multipart/form-data` as ModSecurity's strict parser reads it: fields become ARGS_POST, file parts FILES, every
/// part's headers MULTIPART_PART_HEADERS, and anything odd raises the MULTIPART_* flags CRS checks.
struct MultipartParser {
    var arguments: [Entry] = []
    var files: [Entry] = []
    var fileSizes: [Entry] = []
    var names: [Entry] = []
    var partHeaders: [Entry] = []
    var flags: [VariableName: Int] = [:]
    var error: String?
    private var boundary: [UInt8] = []

    init(contentType: String) {
        let lower = contentType.lowercased()
        guard let range = lower.range(of: "boundary") else {
            error = "Multipart: boundary not found in Content-Type"
            return
        }
        var rest = contentType[range.upperBound...]
        while rest.first == " " || rest.first == "\t" {
            rest.removeFirst()
            flags[.multipartBoundaryWhitespace] = 1
        }
        guard rest.first == "=" else {
            error = "Multipart: invalid boundary in Content-Type"
            return
        }
        rest.removeFirst()
        if rest.first == " " || rest.first == "\t" { flags[.multipartBoundaryWhitespace] = 1 }
        rest = rest.drop(while: { $0 == " " || $0 == "\t" })
        var value = String(rest.prefix(while: { $0 != ";" && $0 != "," }))
        if value.hasPrefix("\"") {
            flags[.multipartBoundaryQuoted] = 1
            value.removeFirst()
            if let close = value.firstIndex(of: "\"") { value = String(value[..<close]) } else { error = "Multipart: invalid boundary quoting" }
        }
        value = value.trimmingBlanks()
        let boundaryParameters = lower.split(separator: ";").filter { $0.trimmingCharacters().hasPrefix("boundary") }.count
        if value.isEmpty || boundaryParameters > 1 {
            error = error ?? "Multipart: invalid boundary in Content-Type"
        }
        boundary = Array(("--" + value).utf8)
    }

    mutating func parse(_ body: [UInt8]) {
        guard error == nil, !boundary.isEmpty else { raise(.multipartStrictError); return }
        // Split into lines, keeping whether each ended with CRLF or a bare LF.
        var lines: [(ArraySlice<UInt8>, crlf: Bool)] = []
        var start = 0
        for index in body.indices where body[index] == 0x0A {
            let crlf = index > start && body[index - 1] == 0x0D
            lines.append((body[start..<(crlf ? index - 1 : index)], crlf))
            start = index + 1
        }
        let trailing = start < body.count ? body[start...] : nil
        // Line endings count on the lines the format defines (boundaries and part headers): a part's content is
        // data, and a file's bytes may hold any number of bare LFs.
        var sawLF = false, sawCRLF = false
        func ending(_ line: Int) {
            if lines[line].crlf { sawCRLF = true } else { sawLF = true }
        }
        defer {
            if sawLF { raise(.multipartLFLine) }
            if sawLF, sawCRLF { raise(.multipartCRLFLFLines) }
        }

        var index = 0
        // Preamble.
        while index < lines.count, !isBoundary(lines[index].0) {
            if !lines[index].0.isEmpty { raise(.multipartDataBefore) }
            index += 1
        }
        var finished = false
        var lastWasFinal = false
        while index < lines.count {
            let line = lines[index].0
            if isFinalBoundary(line) {
                finished = true
                lastWasFinal = true
                index += 1
                break
            }
            guard isBoundary(line) else {
                index += 1
                continue
            }
            ending(index)
            index += 1
            // Part headers.
            var headers: [String] = []
            while index < lines.count, !lines[index].0.isEmpty {
                ending(index)
                let text = String(decoding: lines[index].0, as: UTF8.self)
                if let first = text.first, first == " " || first == "\t", !headers.isEmpty {
                    raise(.multipartHeaderFolding)
                    headers[headers.count - 1] += " " + text.trimmingBlanks()
                } else {
                    headers.append(text)
                }
                index += 1
            }
            guard index < lines.count else {
                raise(.multipartInvalidPart)
                break
            }
            ending(index)
            index += 1
            // Part body: up to the next boundary line.
            var content: [UInt8] = []
            var first = true
            while index < lines.count, !isBoundary(lines[index].0), !isFinalBoundary(lines[index].0) {
                if !first { content += lines[index - 1].crlf ? [0x0D, 0x0A] : [0x0A] }
                content += lines[index].0
                first = false
                index += 1
            }
            if index >= lines.count, let trailing, !isFinalBoundary(trailing) {
                if !first { content += [0x0D, 0x0A] }
                content += trailing
            }
            addPart(headers: headers, content: content)
        }
        if finished {
            var after = false
            while index < lines.count {
                if !lines[index].0.isEmpty { after = true }
                index += 1
            }
            if let trailing, !trailing.allSatisfy({ $0 == 0x0D || $0 == 0x0A || $0 == 0x20 }) { after = true }
            if after { raise(.multipartDataAfter) }
        } else if let trailing, isFinalBoundary(trailing) {
            finished = true
        }
        if !finished, !lastWasFinal {
            error = "Multipart: final boundary missing"
            raise(.multipartStrictError)
        }
    }

    private func isBoundary(_ line: ArraySlice<UInt8>) -> Bool {
        guard line.count >= boundary.count, line.prefix(boundary.count).elementsEqual(boundary) else { return false }
        return line.dropFirst(boundary.count).allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    private func isFinalBoundary(_ line: ArraySlice<UInt8>) -> Bool {
        guard line.count >= boundary.count + 2, line.prefix(boundary.count).elementsEqual(boundary) else { return false }
        let rest = line.dropFirst(boundary.count)
        return rest.prefix(2).elementsEqual([0x2D, 0x2D]) && rest.dropFirst(2).allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    private mutating func raise(_ flag: VariableName) {
        flags[flag] = 1
        if flag != .multipartLFLine { flags[.multipartStrictError] = 1 }
    }

    private mutating func addPart(headers: [String], content: [UInt8]) {
        var name: String?
        var filename: String?
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                raise(.multipartInvalidPart)
                continue
            }
            let headerName = header[..<colon].trimmingCharacters()
            let value = String(header[header.index(after: colon)...]).trimmingBlanks()
            if headerName.lowercased() == "content-disposition" {
                (name, filename) = parseDisposition(value)
            }
        }
        guard let name else {
            raise(.multipartInvalidPart)
            return
        }
        for header in headers { partHeaders.append(Entry(name: name, value: Array(header.utf8))) }
        names.append(Entry(name: name, value: Array(name.utf8)))
        if let filename {
            files.append(Entry(name: name, value: Array(filename.utf8)))
            fileSizes.append(Entry(name: name, value: Array(String(content.count).utf8)))
        } else {
            arguments.append(Entry(name: name, value: content))
        }
    }

    /// `form-data; name="a"; filename="b"`: parameters split on `;` outside double quotes.
    private mutating func parseDisposition(_ value: String) -> (String?, String?) {
        let bytes = Array(value.utf8)
        var index = 0
        func skipBlanks() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 } }
        let kindEnd = bytes.firstIndex(of: 0x3B) ?? bytes.count
        let kind = String(decoding: bytes[..<kindEnd], as: UTF8.self).trimmingBlanks()
        guard kind.lowercased() == "form-data" else {
            raise(.multipartInvalidPart)
            return (nil, nil)
        }
        index = kindEnd
        var name: String?, filename: String?
        while index < bytes.count {
            guard bytes[index] == 0x3B else {
                raise(.multipartMissingSemicolon)
                break
            }
            index += 1
            skipBlanks()
            if index >= bytes.count { break }
            let keyStart = index
            while index < bytes.count, bytes[index] != 0x3D, bytes[index] != 0x3B { index += 1 }
            let key = String(decoding: bytes[keyStart..<index], as: UTF8.self).trimmingBlanks().lowercased()
            guard index < bytes.count, bytes[index] == 0x3D else {
                raise(.multipartInvalidPart)
                continue
            }
            index += 1
            skipBlanks()
            var raw: [UInt8] = []
            if index < bytes.count, bytes[index] == 0x22 {
                index += 1
                var closed = false
                while index < bytes.count {
                    if bytes[index] == 0x5C, index + 1 < bytes.count, bytes[index + 1] == 0x22 || bytes[index + 1] == 0x5C {
                        raise(.multipartInvalidQuoting)
                        raw.append(bytes[index + 1])
                        index += 2
                        continue
                    }
                    if bytes[index] == 0x22 {
                        closed = true
                        index += 1
                        break
                    }
                    raw.append(bytes[index])
                    index += 1
                }
                if !closed { raise(.multipartInvalidQuoting) }
            } else {
                if index < bytes.count, bytes[index] == 0x27 { raise(.multipartInvalidQuoting) }
                while index < bytes.count, bytes[index] != 0x3B, bytes[index] != 0x20, bytes[index] != 0x09 {
                    raw.append(bytes[index])
                    index += 1
                }
            }
            skipBlanks()
            let text = String(decoding: raw, as: UTF8.self)
            switch key {
            case "name": name = text
            case "filename", "filename*": filename = text
            default: break
            }
        }
        return (name, filename)
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingBlanks() }
}

extension StringProtocol {
    func range(of target: String) -> Range<Index>? {
        let needle = Array(target.utf8)
        guard !needle.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].utf8.starts(with: needle) {
                let end = self.utf8.index(index, offsetBy: needle.count)
                return index..<end
            }
            index = self.index(after: index)
        }
        return nil
    }
}
