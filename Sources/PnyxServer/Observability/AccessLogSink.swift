import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PnyxConfig
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where access-log lines go. Each event loop appends to its own buffer (no lock on the request path); buffers
/// are handed to one writer thread every 200 ms or when they pass 32 KiB. If the writer falls behind by more
/// than 16 MiB, lines are dropped and counted rather than held.
public final class AccessLogSink: Service, Sendable {
    private let buffers: [ObjectIdentifier: LoopBuffer]
    private let writer: NIOThreadPool
    private let fd: Int32
    private let ownsFD: Bool
    private let pendingBytes = ManagedAtomic<Int>(0)
    public let droppedLines = ManagedAtomic<Int>(0)
    static let flushBytes = 32 * 1024
    static let maxPendingBytes = 16 * 1024 * 1024

    /// Opens the destination. Returns nil when the access log is off.
    public static func make(_ configuration: AccessLogConfiguration, group: any EventLoopGroup) throws -> AccessLogSink? {
        switch configuration.destination {
        case .off:
            return nil
        case .standardOutput:
            return AccessLogSink(fd: 1, ownsFD: false, group: group)
        case .file(let path):
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else {
                throw AccessLogError(message: "cannot open access log \(path): \(String(cString: strerror(errno)))")
            }
            return AccessLogSink(fd: fd, ownsFD: true, group: group)
        }
    }

    init(fd: Int32, ownsFD: Bool, group: any EventLoopGroup) {
        self.fd = fd
        self.ownsFD = ownsFD
        self.writer = NIOThreadPool(numberOfThreads: 1)
        self.writer.start()
        var buffers: [ObjectIdentifier: LoopBuffer] = [:]
        for loop in group.makeIterator() { buffers[ObjectIdentifier(loop)] = LoopBuffer(eventLoop: loop) }
        self.buffers = buffers
    }

    /// Appends one formatted line. Called on an event loop of the group.
    func append(_ format: (inout [UInt8]) -> Void) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop,
            let buffer = buffers[ObjectIdentifier(loop)]
        else {
            var line: [UInt8] = []
            format(&line)
            submit(line)
            return
        }
        format(&buffer.bytes)
        if buffer.bytes.count >= Self.flushBytes {
            flush(buffer)
        } else if !buffer.flushScheduled {
            buffer.flushScheduled = true
            loop.assumeIsolated().scheduleTask(in: .milliseconds(200)) { [self] in
                buffer.flushScheduled = false
                self.flush(buffer)
            }
        }
    }

    private func flush(_ buffer: LoopBuffer) {
        guard !buffer.bytes.isEmpty else { return }
        let bytes = buffer.bytes
        buffer.bytes = []
        buffer.bytes.reserveCapacity(Self.flushBytes + 1024)
        submit(bytes)
    }

    private func submit(_ bytes: [UInt8]) {
        let count = bytes.count
        if pendingBytes.loadThenWrappingIncrement(by: count, ordering: .relaxed) + count > Self.maxPendingBytes {
            pendingBytes.wrappingDecrement(by: count, ordering: .relaxed)
            droppedLines.wrappingIncrement(by: bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }, ordering: .relaxed)
            return
        }
        let fd = self.fd
        let pending = self.pendingBytes
        writer.submit { state in
            defer { pending.wrappingDecrement(by: count, ordering: .relaxed) }
            guard case .active = state else { return }
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += n
                }
            }
        }
    }

    /// Flushes every loop's buffer (used at shutdown).
    public func flushAll() async {
        for buffer in buffers.values {
            try? await buffer.eventLoop.submit { self.flush(buffer) }.get()
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await flushAll()
        // Let the writer finish what it was given.
        while pendingBytes.load(ordering: .relaxed) > 0 { try? await Task.sleep(for: .milliseconds(5)) }
        try? await writer.shutdownGracefully()
        if ownsFD { close(fd) }
    }
}

public struct AccessLogError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One event loop's pending access-log bytes. Touched only on that loop.
final class LoopBuffer: @unchecked Sendable {
    let eventLoop: any EventLoop
    var bytes: [UInt8] = []
    var flushScheduled = false
    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        bytes.reserveCapacity(AccessLogSink.flushBytes + 1024)
    }
}
