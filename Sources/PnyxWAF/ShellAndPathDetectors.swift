/// Native command-injection detection: a shell separator or substitution (`;`, `|`, `&&`, `` ` ``, `$(`, a newline)
/// followed by a command that reads files, runs code or reaches the network. Anchored on the separator, so prose
/// with a semicolon ("Apt 2; 3rd floor") or a pipe does not match unless a command follows it.
enum CommandInjectionDetector {
    static let commands: Set<String> = [
        "cat", "tac", "nl", "head", "tail", "more", "less", "ls", "dir", "id", "whoami", "uname", "wget", "curl", "nc",
        "ncat", "netcat", "bash", "sh", "zsh", "ksh", "dash", "python", "python3", "perl", "ruby", "php", "node",
        "powershell", "pwsh", "cmd", "certutil", "bitsadmin", "echo", "printf", "rm", "chmod", "chown", "kill",
        "ping", "nslookup", "dig", "telnet", "ssh", "scp", "ftp", "tftp", "base64", "xxd", "env", "set", "type",
        "sleep", "timeout", "eval", "exec", "sudo", "su", "passwd", "ifconfig", "ipconfig", "netstat", "ps",
        "systeminfo", "net", "reg", "wmic", "mshta", "rundll32", "regsvr32", "find", "grep", "awk", "sed", "xargs",
    ]

    static func detect(_ input: [UInt8]) -> Bool {
        let count = input.count
        var index = 0
        while index < count {
            let byte = input[index]
            var start: Int?
            switch byte {
            case 0x3B, 0x7C, 0x0A, 0x60: start = index + 1  // ; | newline `
            case 0x26 where index + 1 < count && input[index + 1] == 0x26: start = index + 2  // &&
            case 0x24 where index + 1 < count && input[index + 1] == 0x28: start = index + 2  // $(
            default: break
            }
            if var cursor = start {
                if byte == 0x7C, cursor < count, input[cursor] == 0x7C { cursor += 1 }
                while cursor < count, input[cursor] == 0x20 || input[cursor] == 0x09 { cursor += 1 }
                let wordStart = cursor
                while cursor < count, isCommandByte(input[cursor]) { cursor += 1 }
                if cursor > wordStart {
                    var word = String(decoding: input[wordStart..<cursor], as: UTF8.self).lowercased()
                    if let slash = word.lastIndex(of: "/") { word = String(word[word.index(after: slash)...]) }
                    if commands.contains(word) {
                        // A command word must be followed by an argument, a separator or the end (not "type of").
                        let next = cursor < count ? input[cursor] : 0
                        if next == 0 || next == 0x20 || next == 0x09 || next == 0x3B || next == 0x7C || next == 0x60 || next == 0x29
                            || next == 0x26 || next == 0x0A
                        {
                            if byte != 0x3B || wordFollowedByArgument(input, cursor) { return true }
                        }
                    }
                }
            }
            index += 1
        }
        return false
    }

    /// After `;` (common in prose) a command needs an argument that looks like one: a path, an option or a URL.
    private static func wordFollowedByArgument(_ input: [UInt8], _ start: Int) -> Bool {
        var cursor = start
        while cursor < input.count, input[cursor] == 0x20 { cursor += 1 }
        guard cursor < input.count else { return true }
        let next = input[cursor]
        return next == 0x2F || next == 0x2D || next == 0x2E || next == 0x7C || next == 0x3B || next == 0x24 || next == 0x60
            || next == 0x3E || next == 0x3C || next == 0x5C
    }

    private static func isCommandByte(_ byte: UInt8) -> Bool {
        ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2F || byte == 0x2E
            || byte == 0x5F || byte == 0x2D
    }
}

/// Native path-traversal detection: `../` climbing (after URL and backslash normalisation) at least twice, or once
/// into a well-known system file, or a well-known system file named outright.
enum PathTraversalDetector {
    static let systemFiles: [String] = [
        "etc/passwd", "etc/shadow", "etc/hosts", "etc/group", "proc/self/", "windows/win.ini", "boot.ini",
        "windows/system32", "system32/drivers/etc", ".ssh/id_rsa", ".htpasswd", ".env", "web.config", "wp-config.php",
    ]

    static func detect(_ input: [UInt8]) -> Bool {
        // Normalise: lower case, backslashes as slashes.
        let value = input.map { byte -> UInt8 in
            if byte == 0x5C { return 0x2F }
            return byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        }
        var climbs = 0
        var index = 0
        while index + 2 < value.count {
            if value[index] == 0x2E, value[index + 1] == 0x2E, value[index + 2] == 0x2F,
                index == 0 || value[index - 1] == 0x2F || value[index - 1] == 0x3D || value[index - 1] == 0x20
            {
                climbs += 1
                index += 3
                continue
            }
            index += 1
        }
        if climbs >= 2 { return true }
        for file in systemFiles where Decoders.find(Array(file.utf8), in: value) != nil {
            if climbs >= 1 || value.first == 0x2F || file.hasPrefix("etc/") || file.hasPrefix("proc/") { return true }
        }
        return false
    }
}
