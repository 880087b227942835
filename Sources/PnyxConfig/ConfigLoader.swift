import PnyxCore
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a YAML configuration strictly: unknown keys, wrong types and invalid values are all reported, each with
/// file, line, column and key. A file with any error is refused whole.
public enum ConfigLoader {
    /// Loads and validates a configuration file.
    public static func load(path: String) throws(ConfigErrors) -> PnyxConfiguration {
        guard let text = readFile(path) else {
            throw ConfigErrors([
                ConfigError(file: path, line: 0, column: 0, key: "", message: "cannot read the file")
            ])
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates configuration text. `file` names it in errors and anchors relative paths.
    public static func parse(yaml: String, file: String = "<config>") throws(ConfigErrors) -> PnyxConfiguration {
        let diagnostics = ConfigDiagnostics(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigErrors([yamlError(error, file: file)])
        } catch {
            throw ConfigErrors([ConfigError(file: file, line: 1, column: 1, key: "", message: "\(error)")])
        }
        guard let root else {
            throw ConfigErrors([ConfigError(file: file, line: 1, column: 1, key: "", message: "the file is empty")])
        }
        let baseDirectory = directory(of: file)
        let config = ConfigSchema(diagnostics: diagnostics, baseDirectory: baseDirectory).read(root)
        if !diagnostics.errors.isEmpty || config == nil {
            throw ConfigErrors(diagnostics.errors)
        }
        return config!
    }

    static func yamlError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, key: "", message: "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(
                file: file, line: context.mark.line, column: context.mark.column, key: duplicates.joined(separator: ","),
                message: "duplicate key")
        default:
            return ConfigError(file: file, line: 1, column: 1, key: "", message: "YAML: \(error)")
        }
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        let dir = String(file[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func readFile(_ path: String) -> String? {
        guard let handle = fopen(path, "rb") else { return nil }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        if ferror(handle) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
