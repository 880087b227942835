import CPCRE2

/// A PCRE2 pattern compiled once (and JIT-compiled) when rules load; matched on bytes, read-only afterwards.
/// Compiled with DOTALL and DOLLAR_ENDONLY, as ModSecurity compiles `@rx`.
public final class Regex: @unchecked Sendable {
    let code: OpaquePointer
    public let pattern: String
    /// Capture groups in the pattern (for `capture`: TX.1 … TX.9).
    let captureCount: Int
    /// The JIT compiled the pattern: matched through `pcre2_jit_match` (no option checks per call).
    let jit: Bool
    /// PCRE2's lower bound on the length of a match, in bytes: a shorter subject cannot match (no call made; most
    /// request values are short).
    let minimumLength: Int

    public init(_ pattern: String, caseless: Bool = false) throws(RegexError) {
        var options = UInt32(PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY)
        if caseless { options |= UInt32(PCRE2_CASELESS) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = pattern.utf8CString.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buffer.count) { bytes in
                pcre2_compile_8(bytes, buffer.count - 1, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = length > 0 ? String(decoding: message[0..<Int(length)], as: UTF8.self) : "error \(errorCode)"
            throw RegexError(pattern: pattern, message: "\(text) at offset \(errorOffset)")
        }
        code = compiled
        self.pattern = pattern
        // JIT failure (unsupported pattern) falls back to the interpreter: not an error.
        jit = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
        var length: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_MINLENGTH), &length)
        minimumLength = Int(length)
    }

    deinit { pcre2_code_free_8(code) }

    /// Whether the pattern matches `subject`; with `captures`, fills it with group 0…9 (as byte arrays).
    public func matches(_ subject: UnsafeRawBufferPointer, scratch: RegexScratch, captures: UnsafeMutablePointer<[[UInt8]]>? = nil) -> Bool {
        if subject.count < minimumLength { return false }
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(scratch.emptySubject)
        let rc = jit
            ? pcre2_jit_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.matchContext)
            : pcre2_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.matchContext)
        if rc < 0 {
            if rc != PCRE2_ERROR_NOMATCH { scratch.errors += 1 }
            return false
        }
        if let captures {
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            let pairs = min(Int(rc == 0 ? 10 : rc), 10)
            var out: [[UInt8]] = []
            out.reserveCapacity(pairs)
            for index in 0..<pairs {
                let start = Int(ovector[2 * index]), end = Int(ovector[2 * index + 1])
                if start < 0 || end < start { out.append([]); continue }
                out.append(Array(UnsafeBufferPointer(start: base + start, count: end - start)))
            }
            captures.pointee = out
        }
        return true
    }

    public func matches(_ subject: [UInt8], scratch: RegexScratch) -> Bool {
        subject.withUnsafeBytes { matches($0, scratch: scratch) }
    }

    public func matches(_ subject: String, scratch: RegexScratch) -> Bool {
        var copy = subject
        return copy.withUTF8 { matches(UnsafeRawBufferPointer($0), scratch: scratch) }
    }
}


public struct RegexError: Error, CustomStringConvertible, Sendable {
    public var pattern: String
    public var message: String
    public var description: String { "bad regular expression: \(message)" }
}

/// PCRE2 working state (match data, a JIT stack and match limits). Used by one thread at a time: the WAF keeps one
/// per event-loop thread, tests and tools one per transaction (hence `@unchecked Sendable`).
public final class RegexScratch: @unchecked Sendable {
    let matchData: OpaquePointer
    let matchContext: OpaquePointer
    let jitStack: OpaquePointer?
    /// Matches that ended in an error (match limit hit, JIT stack exhausted): counted, treated as no match.
    public var errors = 0
    let emptySubject: UnsafeMutablePointer<UInt8>

    public init(matchLimit: UInt32 = 500_000) {
        matchData = pcre2_match_data_create_8(16, nil)!
        matchContext = pcre2_match_context_create_8(nil)!
        pcre2_set_match_limit_8(matchContext, matchLimit)
        pcre2_set_depth_limit_8(matchContext, 10_000)
        jitStack = pcre2_jit_stack_create_8(32 * 1024, 512 * 1024, nil)
        if let jitStack { pcre2_jit_stack_assign_8(matchContext, nil, UnsafeMutableRawPointer(jitStack)) }
        emptySubject = .allocate(capacity: 1)
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_match_context_free_8(matchContext)
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        emptySubject.deallocate()
    }
}
