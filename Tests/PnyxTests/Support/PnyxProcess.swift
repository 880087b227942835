import Foundation
import Synchronization

/// A real `pnyx serve` process started from the built binary, with a generated configuration.
final class PnyxProcess: @unchecked Sendable {
    let process: Process
    let directory: URL
    let configPath: String
    let httpPort: Int
    let httpsPort: Int?
    let adminPort: Int?
    let stderrPath: String

    /// Locates the `pnyx` executable built next to the test bundle.
    static var binary: URL {
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("pnyx")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            url = url.deletingLastPathComponent()
        }
        // swift test runs from the package root.
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/pnyx")
    }

    static func makeDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts pnyx with `yaml` (which should listen on port 0 and may use `DATA_DIR` as a placeholder).
    static func start(yaml: String, directory: URL? = nil) async throws -> PnyxProcess {
        let dir = try directory ?? makeDirectory()
        let configPath = dir.appendingPathComponent("pnyx.yaml").path
        let text = yaml.replacingOccurrences(of: "DATA_DIR", with: dir.appendingPathComponent("data").path)
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        let readyFile = dir.appendingPathComponent("ready.json").path
        try? FileManager.default.removeItem(atPath: readyFile)  // a restart in the same directory
        let stderrPath = dir.appendingPathComponent("stderr.log").path
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", configPath, "--ready-file", readyFile, "--log-level", "info"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: readyFile),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            {
                let http = (json["http"] as? [Int]) ?? []
                let https = (json["https"] as? [Int]) ?? []
                return PnyxProcess(
                    process: process, directory: dir, configPath: configPath, httpPort: http.first ?? 0,
                    httpsPort: https.first, adminPort: json["admin"] as? Int, stderrPath: stderrPath)
            }
            if !process.isRunning {
                let log = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                throw TestFailure("pnyx exited early (status \(process.terminationStatus)):\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        let log = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        throw TestFailure("pnyx did not become ready in 20 s:\n\(log.suffix(2000))")
    }

    private init(
        process: Process, directory: URL, configPath: String, httpPort: Int, httpsPort: Int?, adminPort: Int?,
        stderrPath: String
    ) {
        self.process = process
        self.directory = directory
        self.configPath = configPath
        self.httpPort = httpPort
        self.httpsPort = httpsPort
        self.adminPort = adminPort
        self.stderrPath = stderrPath
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var dataDirectory: String { directory.appendingPathComponent("data").path }

    /// Rewrites the configuration file (the running process does not see it until reload).
    func rewriteConfig(_ yaml: String) throws {
        let text = yaml.replacingOccurrences(of: "DATA_DIR", with: dataDirectory)
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Sends SIGTERM and waits for the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(20)) async -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        return await waitForExit(timeout: timeout)
    }

    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return -9
        }
        return process.terminationStatus
    }

    /// Peak resident memory of the process, in bytes (VmHWM).
    func peakMemoryBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            return kb * 1024
        }
        return 0
    }

    /// The admin token written to the data directory.
    /// What the process has logged so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    var adminToken: String {
        ((try? String(contentsOfFile: dataDirectory + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Runs a command on a thread of its own (never on the Swift concurrency pool, which has one thread per core
/// and would starve the in-process test origin) and returns its exit status, output and error output.
@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: String? = nil) async throws -> (status: Int32, output: String, error: String) {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do {
                continuation.resume(returning: try runBlocking(executable, arguments, stdin: stdin))
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.start()
    }
}

func runBlocking(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { PipeReading.writeAll(input.fileHandleForWriting, Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read standard error on another thread so neither pipe can fill up and block the child.
    let errData = Mutex(Data())
    let errDone = DispatchSemaphore(value: 0)
    let errHandle = err.fileHandleForReading
    Thread {
        let data = PipeReading.readToEnd(errHandle)
        errData.withLock { $0 = data }
        errDone.signal()
    }.start()
    let outData = PipeReading.readToEnd(out.fileHandleForReading)
    errDone.wait()
    process.waitUntilExit()
    let errorText = errData.withLock { String(decoding: $0, as: UTF8.self) }
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), errorText)
}
