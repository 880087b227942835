import Foundation
import Testing

@Suite("Streaming bodies", .serialized)
struct StreamingTests {
    static let size = 1 << 30  // 1 GiB each way

    @Test("a 1 GiB upload and a 1 GiB download stream through with bounded memory (the WAF holds the first MiB, then passes the rest uninspected)")
    func largeBodies() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(
            yaml: siteConfig(originPort: origin.port, extraSite: "limits: { max_body_bytes: 2GiB }\nwaf: { over_limit: pass }"))
        defer { Task { await pnyx.stop(); await origin.stop() } }
        let baseline = pnyx.peakMemoryBytes()

        let download = try await run("curl", [
            "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "Host: vote.test",
            "http://127.0.0.1:\(pnyx.httpPort)/download?bytes=\(Self.size)",
        ])
        #expect(download.output == "200 \(Self.size)", "\(download.error)")

        let upload = try await run("/bin/sh", ["-c",
            "head -c \(Self.size) /dev/zero | curl -sS -T - -X POST -H 'Host: vote.test' -H 'Content-Type: application/octet-stream' http://127.0.0.1:\(pnyx.httpPort)/upload"])
        #expect(upload.output == "received \(Self.size)\n", "\(upload.error)")
        #expect(try await eventually {
            try await adminGET(pnyx, "/api/v1/events?limit=20").body.contains("body_uninspected")
        })

        let peak = pnyx.peakMemoryBytes()
        // 2 GiB went through; the process grew by far less than one body.
        #expect(peak - baseline < 96 << 20, "peak RSS grew by \((peak - baseline) >> 20) MiB")
    }
}
