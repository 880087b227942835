/// Native XSS detection for `@detectXSS`, in the spirit of libinjection's HTML5 approach (written here from the
/// idea, not the code): the value is read as HTML in the contexts it could land in (text, or breaking out of a
/// double- or single-quoted attribute), and it is XSS if it opens a tag that runs or loads code, gives a tag an
/// event handler, or points an attribute at a `javascript:` / `vbscript:` / `data:text/html` URL.
enum XSSDetector {
    static func detect(_ input: [UInt8]) -> Bool {
        guard !input.isEmpty else { return false }
        if scanTags(input) { return true }
        // Breaking out of a quoted attribute: `" onmouseover="…`, `' onfocus='…`.
        for quote: UInt8 in [0x22, 0x27] {
            if let position = input.firstIndex(of: quote), attributesRun(input, from: position + 1, knownEventsOnly: true) {
                return true
            }
        }
        let lowered = input.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }.filter { !Decoders.isSpace($0) && $0 != 0 }
        return startsWithScriptURL(lowered[...])
    }

    /// Tags that run or load code whatever their attributes.
    static let dangerousTags: Set<String> = [
        "script", "iframe", "object", "embed", "applet", "base", "frame", "frameset", "link", "meta", "style", "svg",
        "math", "xml", "xss", "isindex", "import", "vmlframe", "handler", "listener", "noscript", "template", "portal",
    ]

    /// Event handler names (without `on`) that an attribute break-out uses.
    static let events: Set<String> = [
        "abort", "activate", "afterprint", "animationend", "animationiteration", "animationstart", "auxclick",
        "beforecopy", "beforecut", "beforeinput", "beforepaste", "beforeprint", "beforeunload", "begin", "blur",
        "canplay", "canplaythrough", "change", "click", "close", "contextmenu", "copy", "cuechange", "cut",
        "dblclick", "drag", "dragend", "dragenter", "dragleave", "dragover", "dragstart", "drop", "durationchange",
        "end", "ended", "error", "focus", "focusin", "focusout", "formdata", "hashchange", "input", "invalid",
        "keydown", "keypress", "keyup", "load", "loadeddata", "loadedmetadata", "loadstart", "message", "mousedown",
        "mouseenter", "mouseleave", "mousemove", "mouseout", "mouseover", "mouseup", "mousewheel", "offline",
        "online", "pagehide", "pageshow", "paste", "pause", "play", "playing", "pointerdown", "pointerenter",
        "pointerleave", "pointermove", "pointerout", "pointerover", "pointerup", "popstate", "progress",
        "ratechange", "readystatechange", "repeat", "reset", "resize", "scroll", "scrollend", "search", "seeked",
        "seeking", "select", "selectionchange", "selectstart", "show", "stalled", "storage", "submit", "suspend",
        "timeupdate", "toggle", "touchend", "touchmove", "touchstart", "transitionend", "unload", "volumechange",
        "waiting", "wheel", "webkitanimationend", "webkittransitionend",
    ]

    static let urlAttributes: Set<String> = [
        "href", "src", "action", "formaction", "data", "xlink:href", "background", "dynsrc", "lowsrc", "poster",
        "codebase", "srcdoc", "from", "to", "values", "by", "folder",
    ]

    /// Every `<tag …>` in the value: a dangerous tag, an event attribute, or a script URL attribute is XSS.
    static func scanTags(_ input: [UInt8]) -> Bool {
        var index = 0
        let count = input.count
        while index < count {
            guard let open = input[index...].firstIndex(of: 0x3C) else { return false }
            var cursor = open + 1
            if cursor < count, input[cursor] == 0x2F { cursor += 1 }
            let nameStart = cursor
            while cursor < count, isNameByte(input[cursor]) { cursor += 1 }
            index = open + 1
            guard cursor > nameStart, isLetter(input[nameStart]) else {
                // `<!--`, `<?`: not a tag.
                continue
            }
            var name = String(decoding: input[nameStart..<cursor], as: UTF8.self).lowercased()
            if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
            if dangerousTags.contains(name) { return true }
            if attributesRun(input, from: cursor, knownEventsOnly: false) { return true }
        }
        return false
    }

    /// Reads attributes from `start` until `>` or the end: an event handler or a script URL is XSS.
    static func attributesRun(_ input: [UInt8], from start: Int, knownEventsOnly: Bool) -> Bool {
        var index = start
        let count = input.count
        while index < count {
            let byte = input[index]
            if byte == 0x3E { return false }
            if Decoders.isSpace(byte) || byte == 0x2F || byte == 0x22 || byte == 0x27 {
                index += 1
                continue
            }
            let nameStart = index
            while index < count, !Decoders.isSpace(input[index]), input[index] != 0x3D, input[index] != 0x3E, input[index] != 0x2F {
                index += 1
            }
            let name = String(decoding: input[nameStart..<index], as: UTF8.self).lowercased()
            while index < count, Decoders.isSpace(input[index]) { index += 1 }
            guard index < count, input[index] == 0x3D else { continue }
            index += 1
            while index < count, Decoders.isSpace(input[index]) { index += 1 }
            var value: ArraySlice<UInt8> = []
            if index < count, input[index] == 0x22 || input[index] == 0x27 || input[index] == 0x60 {
                let quote = input[index]
                let end = input[(index + 1)...].firstIndex(of: quote) ?? count
                value = input[(index + 1)..<end]
                index = min(end + 1, count)
            } else {
                let valueStart = index
                while index < count, !Decoders.isSpace(input[index]), input[index] != 0x3E { index += 1 }
                value = input[valueStart..<index]
            }
            if name.hasPrefix("on"), name.count > 2 {
                let event = String(name.dropFirst(2))
                if !knownEventsOnly || events.contains(event) { return true }
            }
            if urlAttributes.contains(name) || name == "style" {
                let decoded = Decoders.htmlEntityDecode(Array(value)).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
                    .filter { !Decoders.isSpace($0) && $0 != 0 }
                if name == "style" {
                    if Decoders.find(Array("expression(".utf8), in: decoded) != nil
                        || Decoders.find(Array("javascript:".utf8), in: decoded) != nil { return true }
                } else if startsWithScriptURL(decoded[...]) {
                    return true
                }
            }
        }
        return false
    }

    static func startsWithScriptURL(_ value: ArraySlice<UInt8>) -> Bool {
        for scheme in ["javascript:", "vbscript:", "livescript:", "data:text/html", "data:image/svg+xml"] {
            if value.starts(with: Array(scheme.utf8)) { return true }
        }
        return false
    }

    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    static func isNameByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x3A || byte == 0x2D || byte == 0x5F
    }
}
