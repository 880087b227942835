/// The byte-level decoders behind the transformations and the body processors.
enum Decoders {
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    static func isHex(_ byte: UInt8) -> Bool { hexValue(byte) != nil }

    /// Where `needle` first occurs in `haystack` at or after `start` (an empty needle is found at `start`).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard let first = needle.first else { return start <= haystack.count ? start : nil }
        guard start >= 0, needle.count <= haystack.count - start else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == first {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }

    /// `%HH` (and `+` as space unless `plusAsSpace` is off, as for paths); with `unicode`, `%uHHHH` too (full-width
    /// ASCII becomes ASCII, otherwise the low byte, as ModSecurity does without a Unicode map). Invalid escapes stay
    /// as they are.
    static func urlDecode(_ input: [UInt8], unicode: Bool, plusAsSpace: Bool = true) -> [UInt8] {
        guard input.contains(where: { $0 == 0x25 || ($0 == 0x2B && plusAsSpace) }) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            if byte == 0x25 {
                if unicode, index + 5 < count, input[index + 1] | 0x20 == 0x75,
                    let a = hexValue(input[index + 2]), let b = hexValue(input[index + 3]),
                    let c = hexValue(input[index + 4]), let d = hexValue(input[index + 5])
                {
                    out.append(unicodeByte(high: a << 4 | b, low: c << 4 | d))
                    index += 6
                    continue
                }
                if index + 2 < count, let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
                out.append(byte)
            } else if byte == 0x2B, plusAsSpace {
                out.append(0x20)
            } else {
                out.append(byte)
            }
            index += 1
        }
        return out
    }

    /// The byte ModSecurity keeps of a `\uHHHH` / `%uHHHH` code point: full-width ASCII (U+FF01…U+FF5E) becomes ASCII.
    static func unicodeByte(high: UInt8, low: UInt8) -> UInt8 {
        if high == 0xFF, low > 0x00, low < 0x5F { return low &+ 0x20 }
        return low
    }

    static func urlEncode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let digits = Array("0123456789abcdef".utf8)
        for byte in input {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2A, 0x2D, 0x2E, 0x5F: out.append(byte)
            case 0x20: out.append(0x2B)
            default: out += [0x25, digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return out
    }

    private static let entities: [String: [UInt8]] = [
        "quot": [0x22], "amp": [0x26], "lt": [0x3C], "gt": [0x3E], "nbsp": [0xA0], "apos": [0x27],
        "colon": [0x3A], "lpar": [0x28], "rpar": [0x29], "tab": [0x09], "newline": [0x0A], "sol": [0x2F],
        "bsol": [0x5C], "excl": [0x21], "num": [0x23], "percnt": [0x25], "period": [0x2E], "comma": [0x2C],
        "semi": [0x3B], "equals": [0x3D], "quest": [0x3F], "grave": [0x60], "lsqb": [0x5B], "rsqb": [0x5D],
        "lcub": [0x7B], "rcub": [0x7D], "verbar": [0x7C], "plus": [0x2B], "ast": [0x2A], "dollar": [0x24],
    ]

    /// `&#DDD;`, `&#xHH;` (the low byte) and the common named entities; the `;` may be missing.
    static func htmlEntityDecode(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(0x26) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            guard byte == 0x26, index + 1 < count else {
                out.append(byte)
                index += 1
                continue
            }
            var cursor = index + 1
            if input[cursor] == 0x23 {
                cursor += 1
                var value = 0
                var digits = 0
                if cursor < count, input[cursor] | 0x20 == 0x78 {
                    cursor += 1
                    while cursor < count, let digit = hexValue(input[cursor]) {
                        value = min(value * 16 + Int(digit), 0x10FFFF)
                        cursor += 1
                        digits += 1
                    }
                } else {
                    while cursor < count, input[cursor] >= 0x30, input[cursor] <= 0x39 {
                        value = min(value * 10 + Int(input[cursor] - 0x30), 0x10FFFF)
                        cursor += 1
                        digits += 1
                    }
                }
                if digits > 0 {
                    out.append(UInt8(truncatingIfNeeded: value))
                    if cursor < count, input[cursor] == 0x3B { cursor += 1 }
                    index = cursor
                    continue
                }
            } else {
                var end = cursor
                while end < count, end - cursor < 10, (input[end] | 0x20) >= 0x61, (input[end] | 0x20) <= 0x7A { end += 1 }
                if end > cursor {
                    let name = String(decoding: input[cursor..<end], as: UTF8.self).lowercased()
                    if let replacement = entities[name] {
                        out += replacement
                        if end < count, input[end] == 0x3B { end += 1 }
                        index = end
                        continue
                    }
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    /// JavaScript escapes: `\uHHHH`, `\xHH`, `\OOO`, `\n` and friends, `\c` as `c`.
    static func jsDecode(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(0x5C) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            guard byte == 0x5C, index + 1 < count else {
                out.append(byte)
                index += 1
                continue
            }
            let next = input[index + 1]
            if next | 0x20 == 0x75, index + 5 < count, let a = hexValue(input[index + 2]), let b = hexValue(input[index + 3]),
                let c = hexValue(input[index + 4]), let d = hexValue(input[index + 5])
            {
                out.append(unicodeByte(high: a << 4 | b, low: c << 4 | d))
                index += 6
            } else if next | 0x20 == 0x78, index + 3 < count, let a = hexValue(input[index + 2]), let b = hexValue(input[index + 3]) {
                out.append(a << 4 | b)
                index += 4
            } else if next >= 0x30, next <= 0x37 {
                let (value, end) = octal(input, from: index + 1)
                out.append(value)
                index = end
            } else {
                out.append(controlEscape(next) ?? next)
                index += 2
            }
        }
        return out
    }

    /// CSS escapes: `\` and 1–6 hex digits (one following blank eaten), `\` newline removed, `\c` as `c`.
    static func cssDecode(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(0x5C) else { return input }
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            guard byte == 0x5C else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < count else {
                index += 1
                continue
            }
            var cursor = index + 1
            var digits: [UInt8] = []
            while cursor < count, digits.count < 6, let digit = hexValue(input[cursor]) {
                digits.append(digit)
                cursor += 1
            }
            if !digits.isEmpty {
                var high: UInt8 = 0
                if digits.count >= 4 {
                    let start = digits.count - 4
                    high = digits[start] << 4 | digits[start + 1]
                }
                let low: UInt8 = digits.count >= 2 ? digits[digits.count - 2] << 4 | digits[digits.count - 1] : digits[0]
                out.append(digits.count >= 4 ? unicodeByte(high: high, low: low) : low)
                if cursor < count, isSpace(input[cursor]) { cursor += 1 }
                index = cursor
            } else if input[index + 1] == 0x0A {
                index += 2
            } else {
                out.append(input[index + 1])
                index += 2
            }
        }
        return out
    }

    /// ANSI C escapes (`\a \b \f \n \r \t \v \\ \? \' \" \xHH \OOO`).
    static func escapeSeqDecode(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(0x5C) else { return input }
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            guard byte == 0x5C, index + 1 < count else {
                out.append(byte)
                index += 1
                continue
            }
            let next = input[index + 1]
            if let control = controlEscape(next) {
                out.append(control)
                index += 2
            } else if next == 0x5C || next == 0x3F || next == 0x27 || next == 0x22 {
                out.append(next)
                index += 2
            } else if next | 0x20 == 0x78, index + 3 < count, let a = hexValue(input[index + 2]), let b = hexValue(input[index + 3]) {
                out.append(a << 4 | b)
                index += 4
            } else if next >= 0x30, next <= 0x37 {
                let (value, end) = octal(input, from: index + 1)
                out.append(value)
                index = end
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// `\a \b \f \n \r \t \v`: the control character the letter after a backslash names.
    static func controlEscape(_ letter: UInt8) -> UInt8? {
        switch letter {
        case 0x61: return 0x07
        case 0x62: return 0x08
        case 0x66: return 0x0C
        case 0x6E: return 0x0A
        case 0x72: return 0x0D
        case 0x74: return 0x09
        case 0x76: return 0x0B
        default: return nil
        }
    }

    /// Up to three octal digits from `start` (stopping before the value passes 255): the byte and where it ended.
    static func octal(_ input: [UInt8], from start: Int) -> (UInt8, Int) {
        var value = 0
        var cursor = start
        while cursor < input.count, cursor - start < 3, input[cursor] >= 0x30, input[cursor] <= 0x37 {
            let candidate = value * 8 + Int(input[cursor] - 0x30)
            if candidate > 0xFF { break }
            value = candidate
            cursor += 1
        }
        return (UInt8(value), cursor)
    }

    /// ModSecurity's `cmdLine`: drops `\ " ' ^`, drops blanks before `/` and `(`, turns `,` and `;` into blanks,
    /// squeezes blanks to one, lowercases.
    static func cmdLine(_ input: [UInt8]) -> [UInt8] {
        // Unchanged unless it has a byte the transformation deletes, blanks or lowercases (the usual case: no copy).
        guard input.contains(where: cmdLineChanges) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var space = false
        for byte in input {
            switch byte {
            case 0x5C, 0x22, 0x27, 0x5E:
                continue
            case 0x20, 0x09, 0x0A, 0x0D, 0x2C, 0x3B:
                if !space {
                    out.append(0x20)
                    space = true
                }
            case 0x2F, 0x28:
                if space { out.removeLast() }
                space = false
                out.append(byte)
            default:
                space = false
                out.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            }
        }
        return out
    }

    /// Whether `cmdLine` deletes, blanks or lowercases `byte` (a value without such bytes is left as it is).
    static func cmdLineChanges(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x5C, 0x22, 0x27, 0x5E, 0x20, 0x09, 0x0A, 0x0D, 0x2C, 0x3B, 0x41...0x5A: return true
        default: return false
        }
    }

    static func compressWhitespace(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(where: { isSpace($0) || $0 == 0xA0 }) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var inSpace = false
        for byte in input {
            if isSpace(byte) || byte == 0xA0 {
                if !inSpace { out.append(0x20) }
                inSpace = true
            } else {
                inSpace = false
                out.append(byte)
            }
        }
        return out
    }

    /// `/* … */` becomes one blank (an unterminated comment too).
    static func replaceComments(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(0x2F) else { return input }
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            if input[index] == 0x2F, index + 1 < count, input[index + 1] == 0x2A {
                var cursor = index + 2
                while cursor + 1 < count, !(input[cursor] == 0x2A && input[cursor + 1] == 0x2F) { cursor += 1 }
                out.append(0x20)
                index = cursor + 1 < count ? cursor + 2 : count
                continue
            }
            out.append(input[index])
            index += 1
        }
        return out
    }

    /// Removes `/* … */` and `<!-- … -->` comments, and `--` or `#` to the end.
    static func removeComments(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(where: { $0 == 0x2F || $0 == 0x3C || $0 == 0x2D || $0 == 0x23 }) else { return input }
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            if byte == 0x2F, index + 1 < count, input[index + 1] == 0x2A {
                var cursor = index + 2
                while cursor + 1 < count, !(input[cursor] == 0x2A && input[cursor + 1] == 0x2F) { cursor += 1 }
                index = cursor + 1 < count ? cursor + 2 : count
                continue
            }
            if byte == 0x3C, index + 3 < count, input[index + 1] == 0x21, input[index + 2] == 0x2D, input[index + 3] == 0x2D {
                var cursor = index + 4
                while cursor + 2 < count, !(input[cursor] == 0x2D && input[cursor + 1] == 0x2D && input[cursor + 2] == 0x3E) {
                    cursor += 1
                }
                index = cursor + 2 < count ? cursor + 3 : count
                continue
            }
            if (byte == 0x2D && index + 1 < count && input[index + 1] == 0x2D) || byte == 0x23 {
                break
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    static func removeCommentsChar(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(where: { $0 == 0x2F || $0 == 0x2A || $0 == 0x3C || $0 == 0x2D || $0 == 0x23 }) else { return input }
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            let next: UInt8 = index + 1 < count ? input[index + 1] : 0
            if (byte == 0x2F && next == 0x2A) || (byte == 0x2A && next == 0x2F) || (byte == 0x2D && next == 0x2D) {
                index += 2
                continue
            }
            if byte == 0x3C, next == 0x21, index + 3 < count, input[index + 2] == 0x2D, input[index + 3] == 0x2D {
                index += 4
                continue
            }
            if byte == 0x2D, next == 0x2D, index + 2 < count, input[index + 2] == 0x3E {
                index += 3
                continue
            }
            if byte == 0x23 {
                index += 1
                continue
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    static func base64Decode(_ input: [UInt8], skipInvalid: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in input {
            let value: UInt32
            switch byte {
            case 0x41...0x5A: value = UInt32(byte - 0x41)
            case 0x61...0x7A: value = UInt32(byte - 0x61 + 26)
            case 0x30...0x39: value = UInt32(byte - 0x30 + 52)
            case 0x2B, 0x2D: value = 62
            case 0x2F, 0x5F: value = 63
            case 0x3D:
                if skipInvalid { continue }
                return out
            default:
                if skipInvalid { continue }
                return out
            }
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }

    static func base64Encode(_ input: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < input.count {
            let a = UInt32(input[index])
            let b = index + 1 < input.count ? UInt32(input[index + 1]) : 0
            let c = index + 2 < input.count ? UInt32(input[index + 2]) : 0
            let triple = a << 16 | b << 8 | c
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(index + 1 < input.count ? alphabet[Int(triple >> 6 & 63)] : 0x3D)
            out.append(index + 2 < input.count ? alphabet[Int(triple & 63)] : 0x3D)
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexDecode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index + 1 < input.count {
            guard let high = hexValue(input[index]), let low = hexValue(input[index + 1]) else { break }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func hexEncode(_ input: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 2)
        for byte in input { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return out
    }

    /// `0x414243` sequences become their bytes.
    static func sqlHexDecode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            if input[index] == 0x30, index + 3 < count, input[index + 1] | 0x20 == 0x78,
                isHex(input[index + 2]), isHex(input[index + 3])
            {
                var cursor = index + 2
                while cursor + 1 < count, let high = hexValue(input[cursor]), let low = hexValue(input[cursor + 1]) {
                    out.append(high << 4 | low)
                    cursor += 2
                }
                index = cursor
                continue
            }
            out.append(input[index])
            index += 1
        }
        return out
    }

    /// Multi-byte UTF-8 characters become `%uHHHH` (ModSecurity's `utf8toUnicode`); invalid bytes stay.
    static func utf8ToUnicode(_ input: [UInt8]) -> [UInt8] {
        guard input.contains(where: { $0 >= 0x80 }) else { return input }
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        var index = 0
        let count = input.count
        while index < count {
            let byte = input[index]
            var length = 0
            var scalar: UInt32 = 0
            if byte & 0xE0 == 0xC0 { length = 2; scalar = UInt32(byte & 0x1F) }
            else if byte & 0xF0 == 0xE0 { length = 3; scalar = UInt32(byte & 0x0F) }
            else if byte & 0xF8 == 0xF0 { length = 4; scalar = UInt32(byte & 0x07) }
            if length > 0, index + length <= count, (1..<length).allSatisfy({ input[index + $0] & 0xC0 == 0x80 }) {
                for offset in 1..<length { scalar = scalar << 6 | UInt32(input[index + offset] & 0x3F) }
                out += [0x25, 0x75]
                let width = scalar > 0xFFFF ? 5 : 4
                for shift in stride(from: (width - 1) * 4, through: 0, by: -4) {
                    out.append(digits[Int(scalar >> UInt32(shift) & 0xF)])
                }
                index += length
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    static func trim(_ input: [UInt8], left: Bool, right: Bool) -> [UInt8] {
        var start = 0, end = input.count
        if left { while start < end, isSpace(input[start]) { start += 1 } }
        if right { while end > start, isSpace(input[end - 1]) { end -= 1 } }
        if start == 0 && end == input.count { return input }
        return Array(input[start..<end])
    }
}
