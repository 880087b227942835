/// Native SQL-injection detection for `@detectSQLi`, in the spirit of libinjection (written here from its published
/// ideas, not its code): the value is tokenized as SQL three times (as is, and as if it continued a single- or a
/// double-quoted string, when it contains that quote), the first tokens are folded into a fingerprint such as
/// `s&sos` (string, logic operator, string, operator, string), and the fingerprint is checked against shapes
/// that only an injection has. Anchoring at the value's start is what keeps ordinary text (O'Brien, "select a
/// union representative") from matching.
enum SQLInjectionDetector {
    /// The fingerprint of the injection found (with its context: `'s&sos`), or nil.
    static func detect(_ input: [UInt8]) -> String? {
        guard !input.isEmpty else { return nil }
        if let shape = fingerprint(input, quote: nil), isInjection(shape, quoted: false) { return shape }
        for quote: UInt8 in [0x27, 0x22] where input.contains(quote) {
            if let shape = fingerprint(input, quote: quote), isInjection(shape, quoted: true) {
                return String(UnicodeScalar(quote)) + shape
            }
        }
        return nil
    }

    /// Shapes of the first tokens that mean SQL was injected. Token letters: `s` string, `n` number, `v` variable,
    /// `b` other word, `k` keyword, `E` statement (select, insert…, waitfor), `U` union, `&` and/or/xor, `o`
    /// operator, `f` a SQL function followed by `(`, `c` comment, and `(`, `)`, `,`, `;` as themselves.
    static func isInjection(_ shape: String, quoted: Bool) -> Bool {
        let tokens = Array(shape.utf8)
        guard let first = tokens.first else { return false }
        func at(_ index: Int) -> UInt8 { index < tokens.count ? tokens[index] : 0 }
        func isValue(_ token: UInt8) -> Bool { token == UInt8(ascii: "n") || token == UInt8(ascii: "s") || token == UInt8(ascii: "v") }
        let amp = UInt8(ascii: "&"), op = UInt8(ascii: "o"), fn = UInt8(ascii: "f"), open = UInt8(ascii: "(")
        let close = UInt8(ascii: ")"), union = UInt8(ascii: "U"), stmt = UInt8(ascii: "E"), comment = UInt8(ascii: "c")
        let semi = UInt8(ascii: ";"), number = UInt8(ascii: "n"), string = UInt8(ascii: "s")
        if quoted {
            // The value closed the string it was in (the first token), then SQL follows.
            var index = 1
            while at(index) == close { index += 1 }
            let next = at(index)
            if next == union { return at(index + 1) == stmt || at(index + 1) == open || (at(index + 1) == UInt8(ascii: "k") && at(index + 2) == stmt) }
            if next == semi || next == stmt { return true }
            if next == comment { return index == tokens.count - 1 }
            if next == amp {
                let operand = at(index + 1)
                if operand == fn || operand == open { return true }
                if isValue(operand), at(index + 2) == op { return true }
                if operand == number, at(index + 2) == 0 || at(index + 2) == comment || at(index + 2) == semi { return true }
                return false
            }
            if next == op, at(index + 1) == fn { return true }
            if next == fn, index == 1 { return true }
            return false
        }
        // The value itself starts as SQL.
        var index = 0
        if first == op, at(1) == number { index = 1 }  // -1 or 1=1
        let lead = at(index)
        if lead == fn { return at(index + 1) == open }
        if lead == open, at(index + 1) == stmt {
            let after = at(index + 2)
            return after == number || after == fn || after == UInt8(ascii: "v") || after == op || after == open
        }
        guard lead == number || lead == string else { return false }
        var cursor = index + 1
        while at(cursor) == close { cursor += 1 }
        let next = at(cursor)
        if next == union { return at(cursor + 1) == stmt || (at(cursor + 1) == UInt8(ascii: "k") && at(cursor + 2) == stmt) }
        if next == semi { return at(cursor + 1) == stmt }
        if next == amp {
            let operand = at(cursor + 1)
            if operand == fn || (operand == open && at(cursor + 2) != 0) { return true }
            return isValue(operand) && at(cursor + 2) == op && (isValue(at(cursor + 3)) || at(cursor + 3) == fn)
        }
        return false
    }

    // MARK: - Tokens

    static let statements: Set<String> = [
        "select", "insert", "update", "delete", "drop", "create", "alter", "exec", "execute", "declare", "truncate",
        "shutdown", "waitfor", "merge", "replace", "grant", "revoke", "call", "handler", "load",
    ]
    static let logic: Set<String> = ["and", "or", "xor", "not"]
    static let wordOperators: Set<String> = ["like", "rlike", "regexp", "is", "in", "between", "div", "mod", "sounds", "collate", "escape"]
    static let keywords: Set<String> = [
        "all", "distinct", "from", "where", "into", "values", "order", "by", "group", "having", "limit", "offset",
        "case", "when", "then", "else", "end", "null", "table", "procedure", "delay", "exists", "top", "as",
        "join", "inner", "outer", "left", "right", "on", "set", "true", "false", "outfile", "dumpfile", "database",
        "schema", "information_schema", "sysobjects", "syscolumns", "asc", "desc", "procedure", "using",
    ]
    static let functions: Set<String> = [
        "sleep", "benchmark", "pg_sleep", "extractvalue", "updatexml", "load_file", "concat", "concat_ws",
        "group_concat", "char", "chr", "nchar", "ascii", "ord", "substring", "substr", "mid", "version", "user",
        "current_user", "system_user", "session_user", "database", "schema", "if", "ifnull", "isnull", "nullif",
        "coalesce", "count", "cast", "convert", "xmltype", "dbms_pipe", "utl_inaddr", "utl_http", "hex", "unhex",
        "md5", "sha1", "row", "elt", "make_set", "exp", "floor", "rand", "length", "len", "lower", "upper",
        "waitfor", "xp_cmdshell", "openrowset", "opendatasource", "randomblob", "sqlite_version", "pg_read_file",
        "lo_import", "dbms_lock", "get_lock", "name_const", "polygon", "geometrycollection", "multipoint",
        "json_keys", "json_extract", "st_latfromgeohash", "gtid_subset", "procedure_analyse", "char_length",
        "instr", "locate", "position", "left", "right", "reverse", "replace", "space", "strcmp", "tolower",
    ]

    /// The first five tokens' letters (comments inside the value are skipped; one at the end is kept).
    static func fingerprint(_ input: [UInt8], quote: UInt8?) -> String? {
        var shape: [UInt8] = []
        var index = 0
        let count = input.count
        if let quote {
            // The value continues a string: it ends at the first unescaped quote.
            guard let end = closingQuote(input, from: 0, quote: quote) else { return nil }
            shape.append(UInt8(ascii: "s"))
            index = end + 1
        }
        while index < count, shape.count < 6 {
            let byte = input[index]
            if Decoders.isSpace(byte) || byte == 0xA0 { index += 1; continue }
            switch byte {
            case 0x27, 0x22, 0x60:
                shape.append(UInt8(ascii: "s"))
                guard let end = closingQuote(input, from: index + 1, quote: byte) else { index = count; break }
                index = end + 1
            case 0x30...0x39:
                shape.append(UInt8(ascii: "n"))
                index += 1
                while index < count, isWordByte(input[index]) || input[index] == 0x2E { index += 1 }
            case 0x2E where index + 1 < count && input[index + 1] >= 0x30 && input[index + 1] <= 0x39:
                shape.append(UInt8(ascii: "n"))
                index += 1
                while index < count, isWordByte(input[index]) { index += 1 }
            case 0x40:
                shape.append(UInt8(ascii: "v"))
                index += 1
                while index < count, input[index] == 0x40 { index += 1 }
                while index < count, isWordByte(input[index]) || input[index] == 0x2E { index += 1 }
            case 0x2F where index + 1 < count && input[index + 1] == 0x2A:
                var cursor = index + 2
                while cursor + 1 < count, !(input[cursor] == 0x2A && input[cursor + 1] == 0x2F) { cursor += 1 }
                if cursor + 1 >= count {
                    shape.append(UInt8(ascii: "c"))
                    index = count
                } else {
                    index = cursor + 2
                }
            case 0x2D where index + 1 < count && input[index + 1] == 0x2D, 0x23:
                shape.append(UInt8(ascii: "c"))
                index = count
            case 0x28, 0x29, 0x2C, 0x3B:
                shape.append(byte)
                index += 1
            case 0x26, 0x7C:
                if index + 1 < count, input[index + 1] == byte {
                    shape.append(UInt8(ascii: "&"))
                    index += 2
                } else {
                    appendOperator(&shape)
                    index += 1
                }
            case 0x3D, 0x3C, 0x3E, 0x21, 0x2B, 0x2D, 0x2A, 0x2F, 0x25, 0x5E, 0x7E, 0x3A:
                appendOperator(&shape)
                index += 1
                while index < count, [0x3D, 0x3C, 0x3E, 0x21].contains(input[index]) { index += 1 }
            default:
                if isWordStart(byte) {
                    let start = index
                    while index < count, isWordByte(input[index]) || input[index] == 0x24 { index += 1 }
                    let word = String(decoding: input[start..<index], as: UTF8.self).lowercased()
                    var lookahead = index
                    while lookahead < count, Decoders.isSpace(input[lookahead]) { lookahead += 1 }
                    let call = lookahead < count && input[lookahead] == 0x28
                    if call, functions.contains(word) {
                        shape.append(UInt8(ascii: "f"))
                    } else if statements.contains(word) {
                        shape.append(UInt8(ascii: "E"))
                    } else if word == "union" {
                        shape.append(UInt8(ascii: "U"))
                    } else if logic.contains(word) {
                        shape.append(UInt8(ascii: "&"))
                    } else if wordOperators.contains(word) {
                        appendOperator(&shape)
                    } else if keywords.contains(word) {
                        shape.append(UInt8(ascii: "k"))
                    } else {
                        shape.append(UInt8(ascii: "b"))
                    }
                } else {
                    shape.append(UInt8(ascii: "b"))
                    index += 1
                }
            }
        }
        return String(decoding: shape.prefix(6), as: UTF8.self)
    }

    private static func appendOperator(_ shape: inout [UInt8]) {
        if shape.last != UInt8(ascii: "o") { shape.append(UInt8(ascii: "o")) }
    }

    /// The index of the quote that closes a string starting at `from` (doubled quotes and backslashes escape).
    static func closingQuote(_ input: [UInt8], from start: Int, quote: UInt8) -> Int? {
        var index = start
        while index < input.count {
            let byte = input[index]
            if byte == 0x5C { index += 2; continue }
            if byte == quote {
                if index + 1 < input.count, input[index + 1] == quote { index += 2; continue }
                return index
            }
            index += 1
        }
        return nil
    }

    static func isWordStart(_ byte: UInt8) -> Bool {
        ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || byte == 0x5F || byte >= 0x80
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        isWordStart(byte) || (byte >= 0x30 && byte <= 0x39)
    }
}
