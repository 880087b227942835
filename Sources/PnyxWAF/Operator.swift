import PnyxCore

/// A rule's operator, compiled at load (regexes compiled and JIT-ed, phrase lists built into automata).
public enum Operator: Sendable {
    case rx(Regex)
    /// `@rx` whose pattern has macros: compiled per use (rare; CRS has none).
    case rxMacro(Macro)
    case pm(PhraseMatcher)
    case streq(Macro), contains(Macro), containsWord(Macro), beginsWith(Macro), endsWith(Macro), within(Macro)
    case strmatch(Macro)
    case eq(Macro), ge(Macro), gt(Macro), le(Macro), lt(Macro)
    case ipMatch([CIDR])
    case validateByteRange([ClosedRange<UInt8>])
    case validateUrlEncoding, validateUtf8Encoding
    case detectSQLi, detectXSS
    case unconditionalMatch, noMatch
    /// Operators Pnyx accepts but cannot evaluate here (`@rbl`, `@geoLookup` without a database): never match.
    case unsupported(String)

    var name: String {
        switch self {
        case .rx, .rxMacro: return "rx"
        case .pm: return "pm"
        case .streq: return "streq"
        case .contains: return "contains"
        case .containsWord: return "containsWord"
        case .beginsWith: return "beginsWith"
        case .endsWith: return "endsWith"
        case .within: return "within"
        case .strmatch: return "strmatch"
        case .eq: return "eq"
        case .ge: return "ge"
        case .gt: return "gt"
        case .le: return "le"
        case .lt: return "lt"
        case .ipMatch: return "ipMatch"
        case .validateByteRange: return "validateByteRange"
        case .validateUrlEncoding: return "validateUrlEncoding"
        case .validateUtf8Encoding: return "validateUtf8Encoding"
        case .detectSQLi: return "detectSQLi"
        case .detectXSS: return "detectXSS"
        case .unconditionalMatch: return "unconditionalMatch"
        case .noMatch: return "noMatch"
        case .unsupported(let name): return name
        }
    }

    /// Parses `@name argument` (no `@` means `@rx`). `directory` resolves `@pmFromFile` paths.
    static func parse(_ text: String, directory: String, location: SourceLocation) throws(SecLangError) -> (Operator, negated: Bool) {
        var body = Substring(text)
        var negated = false
        while let first = body.first, first == " " { body.removeFirst() }
        if body.hasPrefix("!") {
            negated = true
            body.removeFirst()
        }
        guard body.hasPrefix("@") else { return (try regex(String(body), location: location), negated) }
        body.removeFirst()
        let nameEnd = body.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? body.endIndex
        let name = body[..<nameEnd].lowercased()
        var argument = String(body[nameEnd...])
        if argument.first == " " || argument.first == "\t" { argument.removeFirst() }
        let op: Operator
        switch name {
        case "rx": op = try regex(argument, location: location)
        case "pm": op = .pm(PhraseMatcher(phrases: argument.split(whereSeparator: { $0 == " " }).map(String.init)))
        case "pmfromfile", "pmf":
            var phrases: [String] = []
            for file in argument.split(separator: " ") {
                let path = file.hasPrefix("/") ? String(file) : directory + "/" + file
                guard let text = readTextFile(path) else { throw SecLangError(location, "cannot read \(path)") }
                for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                    let trimmed = String(line).trimmingBlanks()
                    if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                    phrases.append(trimmed)
                }
            }
            op = .pm(PhraseMatcher(phrases: phrases))
        case "streq": op = .streq(Macro(argument))
        case "contains": op = .contains(Macro(argument))
        case "containsword": op = .containsWord(Macro(argument))
        case "beginswith": op = .beginsWith(Macro(argument))
        case "endswith": op = .endsWith(Macro(argument))
        case "within": op = .within(Macro(argument))
        case "strmatch": op = .strmatch(Macro(argument))
        case "eq": op = .eq(Macro(argument))
        case "ge": op = .ge(Macro(argument))
        case "gt": op = .gt(Macro(argument))
        case "le": op = .le(Macro(argument))
        case "lt": op = .lt(Macro(argument))
        case "ipmatch", "ipmatchf", "ipmatchfromfile":
            var entries: [String] = []
            if name == "ipmatch" {
                entries = argument.split(separator: ",").map { String($0).trimmingBlanks() }
            } else {
                let path = argument.hasPrefix("/") ? argument : directory + "/" + argument
                guard let text = readTextFile(path) else { throw SecLangError(location, "cannot read \(path)") }
                entries = text.split(separator: "\n").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            var ranges: [CIDR] = []
            for entry in entries {
                guard let cidr = CIDR(entry) else { throw SecLangError(location, "bad address \(entry) in @\(name)") }
                ranges.append(cidr)
            }
            op = .ipMatch(ranges)
        case "validatebyterange":
            var ranges: [ClosedRange<UInt8>] = []
            for piece in argument.split(separator: ",") {
                let bounds = piece.split(separator: "-").map { String($0).trimmingBlanks() }
                guard let low = UInt8(bounds.first ?? ""), let high = UInt8(bounds.last ?? ""), low <= high, bounds.count <= 2 else {
                    throw SecLangError(location, "bad byte range \(piece)")
                }
                ranges.append(low...high)
            }
            op = .validateByteRange(ranges)
        case "validateurlencoding": op = .validateUrlEncoding
        case "validateutf8encoding": op = .validateUtf8Encoding
        case "detectsqli": op = .detectSQLi
        case "detectxss": op = .detectXSS
        case "unconditionalmatch": op = .unconditionalMatch
        case "nomatch": op = .noMatch
        case "rbl", "geolookup", "verifycc", "verifyssn", "verifycpf", "inspectfile", "fuzzyhash", "validatedtd",
            "validateschema", "gsblookup", "validatehash", "rsub":
            op = .unsupported(name)
        default:
            throw SecLangError(location, "unknown operator @\(name)")
        }
        return (op, negated)
    }

    private static func regex(_ pattern: String, location: SourceLocation) throws(SecLangError) -> Operator {
        if pattern.contains("%{") { return .rxMacro(Macro(pattern)) }
        do {
            return .rx(try Regex(pattern))
        } catch {
            throw SecLangError(location, "\(error)")
        }
    }
}

func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let read = fread(&buffer, 1, buffer.count, file)
        if read <= 0 { break }
        bytes += buffer[0..<read]
    }
    return String(decoding: bytes, as: UTF8.self)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
