/// `normalizePath` / `normalizePathWin`: ModSecurity's path normalization, and the check that lets a path that is
/// already normal pass without a copy.
extension Decoders {
    /// Whether ``normalizePath(_:windows:)`` would leave `input` as it is: no `//`, no `.` or `..` segment (and no
    /// `\` for Windows paths). Most paths and values are; they are then not copied.
    static func isNormalPath<Bytes: RandomAccessCollection<UInt8>>(_ input: Bytes, windows: Bool) -> Bool where Bytes.Index == Int {
        var segmentStart = 0
        var index = 0
        let count = input.count
        while index <= count {
            let byte: UInt8 = index < count ? input[index] : 0x2F
            if windows && byte == 0x5C { return false }
            if byte == 0x2F {
                let length = index - segmentStart
                // An empty segment is only allowed first (an absolute path) or last (a trailing slash).
                if length == 0 && segmentStart != 0 && index != count { return false }
                if length == 1 && input[segmentStart] == 0x2E { return false }
                if length == 2 && input[segmentStart] == 0x2E && input[segmentStart + 1] == 0x2E { return false }
                segmentStart = index + 1
            }
            index += 1
        }
        return true
    }

    /// Removes `./` segments and `//`, resolves `../` (never above the start); with `windows`, `\` is `/` first.
    static func normalizePath(_ input: [UInt8], windows: Bool) -> [UInt8] {
        if isNormalPath(input, windows: windows) { return input }
        var path = windows ? input.map { $0 == 0x5C ? 0x2F : $0 } : input
        guard !path.isEmpty else { return path }
        let absolute = path.first == 0x2F
        let trailing = path.last == 0x2F || path.suffix(2) == [0x2F, 0x2E] || path.suffix(3) == [0x2F, 0x2E, 0x2E]
        var segments: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: 0x2F, omittingEmptySubsequences: true) {
            if segment == [0x2E] { continue }
            if segment == [0x2E, 0x2E] {
                if let last = segments.last, last != [0x2E, 0x2E] {
                    segments.removeLast()
                } else if !absolute {
                    segments.append(segment)
                }
                continue
            }
            segments.append(segment)
        }
        path = absolute ? [0x2F] : []
        for (index, segment) in segments.enumerated() {
            if index > 0 { path.append(0x2F) }
            path += segment
        }
        if trailing, path.last != 0x2F { path.append(0x2F) }
        return path
    }
}
