/// Holds back an alert that repeats one sent less than a window ago, and counts what it held back so the next
/// one sent says so.
struct RepeatFilter {
    private var entries: [String: (sentMillis: Int64, held: Int)] = [:]

    /// nil: hold this one back. Otherwise it goes out, carrying how many like it were held back before it.
    mutating func admit(key: String, nowMillis: Int64, windowMillis: Int64) -> Int? {
        if entries.count > 10_000 { entries = entries.filter { nowMillis - $0.value.sentMillis < windowMillis } }
        if let entry = entries[key], nowMillis - entry.sentMillis < windowMillis {
            entries[key] = (entry.sentMillis, entry.held + 1)
            return nil
        }
        let held = entries[key]?.held ?? 0
        entries[key] = (nowMillis, 0)
        return held
    }
}
