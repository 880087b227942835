import Crypto

/// SecLang transformation functions (`t:`), applied in order to each value before the operator sees it. Each works
/// on bytes and follows ModSecurity's definition (invalid encodings are left as they are).
public enum Transformation: String, Sendable, CaseIterable {
    case lowercase, uppercase
    case urlDecode, urlDecodeUni, urlEncode
    case htmlEntityDecode, jsDecode, cssDecode, escapeSeqDecode
    case cmdLine, compressWhitespace, removeWhitespace
    case removeNulls, replaceNulls
    case replaceComments, removeComments, removeCommentsChar
    case normalizePath, normalizePathWin
    case base64Decode, base64DecodeExt, base64Encode, hexDecode, hexEncode, sqlHexDecode
    case utf8toUnicode, length, sha1, md5
    case trim, trimLeft, trimRight
    case parityEven7bit, parityOdd7bit, parityZero7bit

    static func named(_ name: String) -> Transformation? {
        let lower = name.lowercased()
        switch lower {
        case "normalisepath": return .normalizePath
        case "normalisepathwin": return .normalizePathWin
        default: return byLowercasedName[lower]
        }
    }

    private static let byLowercasedName: [String: Transformation] = {
        var table: [String: Transformation] = [:]
        for transformation in allCases { table[transformation.rawValue.lowercased()] = transformation }
        return table
    }()

    public func apply(_ input: [UInt8]) -> [UInt8] {
        switch self {
        case .lowercase:
            guard input.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return input }
            return input.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        case .uppercase:
            return input.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & ~0x20 : $0 }
        case .urlDecode: return Decoders.urlDecode(input, unicode: false)
        case .urlDecodeUni: return Decoders.urlDecode(input, unicode: true)
        case .urlEncode: return Decoders.urlEncode(input)
        case .htmlEntityDecode: return Decoders.htmlEntityDecode(input)
        case .jsDecode: return Decoders.jsDecode(input)
        case .cssDecode: return Decoders.cssDecode(input)
        case .escapeSeqDecode: return Decoders.escapeSeqDecode(input)
        case .cmdLine: return Decoders.cmdLine(input)
        case .compressWhitespace: return Decoders.compressWhitespace(input)
        case .removeWhitespace:
            guard input.contains(where: { Decoders.isSpace($0) || $0 == 0xA0 }) else { return input }
            return input.filter { !Decoders.isSpace($0) && $0 != 0xA0 }
        case .removeNulls:
            guard input.contains(0) else { return input }
            return input.filter { $0 != 0 }
        case .replaceNulls:
            guard input.contains(0) else { return input }
            return input.map { $0 == 0 ? 0x20 : $0 }
        case .replaceComments: return Decoders.replaceComments(input)
        case .removeComments: return Decoders.removeComments(input)
        case .removeCommentsChar: return Decoders.removeCommentsChar(input)
        case .normalizePath: return Decoders.normalizePath(input, windows: false)
        case .normalizePathWin: return Decoders.normalizePath(input, windows: true)
        case .base64Decode: return Decoders.base64Decode(input, skipInvalid: false)
        case .base64DecodeExt: return Decoders.base64Decode(input, skipInvalid: true)
        case .base64Encode: return Array(Decoders.base64Encode(input).utf8)
        case .hexDecode: return Decoders.hexDecode(input)
        case .hexEncode: return Decoders.hexEncode(input)
        case .sqlHexDecode: return Decoders.sqlHexDecode(input)
        case .utf8toUnicode: return Decoders.utf8ToUnicode(input)
        case .length: return Array(String(input.count).utf8)
        case .sha1: return Array(Insecure.SHA1.hash(data: input))
        case .md5: return Array(Insecure.MD5.hash(data: input))
        case .trim: return Decoders.trim(input, left: true, right: true)
        case .trimLeft: return Decoders.trim(input, left: true, right: false)
        case .trimRight: return Decoders.trim(input, left: false, right: true)
        case .parityEven7bit, .parityOdd7bit, .parityZero7bit: return input.map { $0 & 0x7F }
        }
    }

    /// Whether the transformation certainly leaves `input` as it is, decided on the bytes in place (without
    /// copying them into an array): the same tests the transformations make before copying. Benign values mostly
    /// pass them, and their transformed forms then share the untransformed bytes. `false` means "apply it".
    func leavesUnchanged(_ input: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .lowercase: return !input.contains { $0 >= 0x41 && $0 <= 0x5A }
        case .urlDecode, .urlDecodeUni: return !input.contains { $0 == 0x25 || $0 == 0x2B }
        case .htmlEntityDecode: return !input.contains(0x26)
        case .jsDecode, .cssDecode: return !input.contains(0x5C)
        case .cmdLine: return !input.contains(where: Decoders.cmdLineChanges)
        case .compressWhitespace, .removeWhitespace: return !input.contains { Decoders.isSpace($0) || $0 == 0xA0 }
        case .removeNulls, .replaceNulls: return !input.contains(0)
        case .replaceComments: return !input.contains(0x2F)
        case .removeComments: return !input.contains { $0 == 0x2F || $0 == 0x3C || $0 == 0x2D || $0 == 0x23 }
        case .removeCommentsChar: return !input.contains { $0 == 0x2F || $0 == 0x2A || $0 == 0x3C || $0 == 0x2D || $0 == 0x23 }
        case .normalizePath: return Decoders.isNormalPath(input, windows: false)
        case .normalizePathWin: return Decoders.isNormalPath(input, windows: true)
        case .utf8toUnicode: return !input.contains { $0 >= 0x80 }
        case .trim, .trimLeft, .trimRight:
            guard let first = input.first, let last = input.last else { return true }
            let left = self != .trimRight && Decoders.isSpace(first)
            let right = self != .trimLeft && Decoders.isSpace(last)
            return !left && !right
        default: return false
        }
    }
}
