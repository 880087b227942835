#if canImport(Glibc)
import Glibc
#endif

/// Directories Pnyx keeps its state in (data directory, cache files).
public enum Directories {
    /// Creates `path` and its missing parents (mode 0750). Returns nil on success, else the failure's description.
    public static func create(_ path: String) -> String? {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/\(component)"
            if mkdir(current, 0o750) != 0 && errno != EEXIST { return String(cString: strerror(errno)) }
        }
        return nil
    }
}
