import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A site's emergency static pages (`static_fallback: DIR`), read into memory when the configuration is loaded
/// and served when the origin is down and nothing is cached. `/` is `index.html`; `/results` is `results`,
/// `results.html` or `results/index.html`.
public final class StaticPages: Sendable {
    public struct Page: Sendable {
        public let contentType: String
        public let body: ByteBuffer
    }
    let pages: [String: Page]
    public static let maxTotalBytes = 64 << 20
    public static let maxFiles = 5000

    init(pages: [String: Page]) { self.pages = pages }

    public var count: Int { pages.count }

    /// Reads every regular file under `directory` (at most 5,000 files and 64 MiB).
    public static func load(directory: String) throws -> StaticPages {
        var pages: [String: Page] = [:]
        var total = 0
        func walk(_ dir: String, _ prefix: String) throws {
            guard let handle = opendir(dir) else { throw StaticPagesError("cannot read directory \(dir)") }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name.hasPrefix(".") { continue }
                let path = "\(dir)/\(name)"
                var info = stat()
                guard stat(path, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    try walk(path, "\(prefix)/\(name)")
                } else if (info.st_mode & S_IFMT) == S_IFREG {
                    guard pages.count < maxFiles else { throw StaticPagesError("more than \(maxFiles) files in \(directory)") }
                    let body = try read(path, size: Int(info.st_size))
                    total += body.readableBytes
                    guard total <= maxTotalBytes else { throw StaticPagesError("\(directory) holds more than 64 MiB") }
                    pages["\(prefix)/\(name)"] = Page(contentType: contentType(name), body: body)
                }
            }
        }
        try walk(directory, "")
        return StaticPages(pages: pages)
    }

    static func read(_ path: String, size: Int) throws -> ByteBuffer {
        guard let file = fopen(path, "rb") else { throw StaticPagesError("cannot read \(path)") }
        defer { fclose(file) }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { fread($0.baseAddress, 1, size, file) }
        guard n == size else { throw StaticPagesError("short read of \(path)") }
        return buffer
    }

    static func contentType(_ name: String) -> String {
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "json": return "application/json"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "txt": return "text/plain; charset=utf-8"
        case "csv": return "text/csv; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "pdf": return "application/pdf"
        default: return "application/octet-stream"
        }
    }

    /// The page for a request path (without query).
    public func page(for path: Substring) -> Page? {
        let path = String(path)
        if path.hasSuffix("/") { return pages[path + "index.html"] }
        return pages[path] ?? pages[path + ".html"] ?? pages[path + "/index.html"]
    }
}

struct StaticPagesError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
