/// One SecLang directive as written: its name, its arguments (quotes removed) and where it was.
public struct Directive: Sendable {
    public var name: String
    public var arguments: [String]
    public var location: SourceLocation
}

public struct SourceLocation: Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var description: String { "\(file):\(line)" }
}

/// A rule file that cannot be loaded: names the file and line.
public struct SecLangError: Error, CustomStringConvertible, Sendable {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}

/// Splits SecLang text into directives as Apache's config reader does: `\` at a line's end continues it, `#` starts
/// a comment line, arguments are separated by blanks and may be double-quoted (`\"` inside is a quote; every other
/// backslash is kept for the operator or action to read).
public enum SecLangParser {
    public static func parse(_ text: String, file: String) throws(SecLangError) -> [Directive] {
        var directives: [Directive] = []
        var pending = ""
        var pendingLine = 0
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if pending.isEmpty {
                let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                pendingLine = lineNumber
            }
            if line.hasSuffix("\\") {
                pending += line.dropLast()
                continue
            }
            pending += line
            let location = SourceLocation(file: file, line: pendingLine)
            let words = try split(pending, location: location)
            pending = ""
            if let name = words.first {
                directives.append(Directive(name: name, arguments: Array(words.dropFirst()), location: location))
            }
        }
        if !pending.isEmpty {
            let location = SourceLocation(file: file, line: pendingLine)
            let words = try split(pending, location: location)
            if let name = words.first {
                directives.append(Directive(name: name, arguments: Array(words.dropFirst()), location: location))
            }
        }
        return directives
    }

    static func split(_ line: String, location: SourceLocation) throws(SecLangError) -> [String] {
        var words: [String] = []
        let bytes = Array(line.utf8)
        var index = 0
        while index < bytes.count {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            guard index < bytes.count else { break }
            var word: [UInt8] = []
            if bytes[index] == 0x22 || bytes[index] == 0x27 {
                let quote = bytes[index]
                index += 1
                var closed = false
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == 0x5C, index + 1 < bytes.count, bytes[index + 1] == quote {
                        word.append(quote)
                        index += 2
                        continue
                    }
                    if byte == quote {
                        closed = true
                        index += 1
                        break
                    }
                    word.append(byte)
                    index += 1
                }
                if !closed { throw SecLangError(location, "unterminated quoted argument") }
            } else {
                while index < bytes.count, bytes[index] != 0x20, bytes[index] != 0x09 {
                    word.append(bytes[index])
                    index += 1
                }
            }
            words.append(String(decoding: word, as: UTF8.self))
        }
        return words
    }
}

/// One action of a rule's action list: `name` or `name:value` (single quotes around the value removed).
public struct RawAction: Sendable, Equatable {
    public var name: String
    public var value: String?
}

enum ActionListParser {
    /// Splits `id:1,phase:2,msg:'a, b',t:none` into actions; commas inside single quotes do not split.
    static func parse(_ text: String, location: SourceLocation) throws(SecLangError) -> [RawAction] {
        var actions: [RawAction] = []
        let bytes = Array(text.utf8)
        var index = 0
        func skipBlanks() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
                index += 1
            }
        }
        while true {
            skipBlanks()
            guard index < bytes.count else { break }
            var name: [UInt8] = []
            while index < bytes.count, bytes[index] != 0x3A, bytes[index] != 0x2C {
                name.append(bytes[index])
                index += 1
            }
            while let last = name.last, last == 0x20 || last == 0x09 { name.removeLast() }
            var value: String?
            if index < bytes.count, bytes[index] == 0x3A {
                index += 1
                skipBlanks()
                var raw: [UInt8] = []
                if index < bytes.count, bytes[index] == 0x27 {
                    index += 1
                    var closed = false
                    while index < bytes.count {
                        if bytes[index] == 0x5C, index + 1 < bytes.count, bytes[index + 1] == 0x27 {
                            raw.append(0x27)
                            index += 2
                            continue
                        }
                        if bytes[index] == 0x27 {
                            closed = true
                            index += 1
                            break
                        }
                        raw.append(bytes[index])
                        index += 1
                    }
                    if !closed { throw SecLangError(location, "unterminated quote in action \(String(decoding: name, as: UTF8.self))") }
                    skipBlanks()
                } else {
                    while index < bytes.count, bytes[index] != 0x2C {
                        raw.append(bytes[index])
                        index += 1
                    }
                    while let last = raw.last, last == 0x20 || last == 0x09 { raw.removeLast() }
                }
                value = String(decoding: raw, as: UTF8.self)
            }
            if index < bytes.count {
                guard bytes[index] == 0x2C else {
                    throw SecLangError(location, "expected ',' after action \(String(decoding: name, as: UTF8.self))")
                }
                index += 1
            }
            if !name.isEmpty {
                actions.append(RawAction(name: String(decoding: name, as: UTF8.self).lowercased(), value: value))
            }
        }
        return actions
    }
}
