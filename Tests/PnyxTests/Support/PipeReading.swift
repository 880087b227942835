import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads from child processes' pipes with `read(2)`, retrying a read a signal interrupted. Foundation's
/// `readDataToEndOfFile()` and `availableData` trap on `EINTR` (a `try!` inside swift-corelibs-foundation), which
/// crashed the whole test run when a signal reached the reading thread.
enum PipeReading {
    /// Everything until end of file.
    static func readToEnd(_ handle: FileHandle) -> Data {
        var data = Data()
        while true {
            let chunk = readSome(handle)
            if chunk.isEmpty { return data }
            data.append(chunk)
        }
    }

    /// What one read returns (blocking until something arrives); empty at end of file or on an error.
    static func readSome(_ handle: FileHandle, maximum: Int = 65536) -> Data {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 { return Data(buffer[0..<count]) }
            if count < 0 && errno == EINTR { continue }
            return Data()
        }
    }

    /// Writes all of `data`, retrying writes a signal interrupted (`FileHandle.write` traps like the reads).
    static func writeAll(_ handle: FileHandle, _ data: Data) {
        let bytes = [UInt8](data)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(handle.fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 {
                offset += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
