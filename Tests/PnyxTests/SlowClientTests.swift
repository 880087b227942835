import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Slow-client defence over real sockets")
struct SlowClientTests {
    static let limits = """
        limits:
          header_read_timeout: 1s
          min_body_rate: 2KiB/s
          min_send_rate: 64KiB/s
          slow_rate_grace: 1s
        """

    @Test("slowloris connections are cut with 408 while normal clients are served")
    func slowloris() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port, extraTop: Self.limits))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        // Twenty clients that start a request head and trickle a header line now and then, never finishing.
        let attackers = try (0..<20).map { _ in try TCPProbe(port: pnyx.httpPort) }
        for probe in attackers { probe.send("GET / HTTP/1.1\r\nHost: vote.test\r\n") }
        var served = 0
        for round in 0..<6 {
            for probe in attackers { probe.send("X-Trickle-\(round): 1\r\n") }
            if try await RawHTTP.get(port: pnyx.httpPort, path: "/page").status == 200 { served += 1 }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(served == 6)
        for probe in attackers {
            let answer = probe.readUntilClosed(idle: 5000)
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(40))")
            probe.close()
        }
        #expect(await eventually { await metric(pnyx, "pnyx_slow_clients_closed_total{kind=\"header\"}") == 20 })
        #expect(origin.requests.filter { $0.path == "/" }.isEmpty)
        // One security event sums the run (every 10 s), rather than one per connection.
        #expect(await eventually(within: .seconds(25)) {
            let body = (try? await adminGET(pnyx, "/api/v1/events?limit=20"))?.body ?? ""
            return body.contains("\"filter\":\"slow_client\"") && body.contains("20 connections cut")
        })
    }

    @Test("a request body that trickles in below the minimum rate is cut with 408; a normal upload passes")
    func slowBody() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port, extraTop: Self.limits))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let slow = try TCPProbe(port: pnyx.httpPort)
        slow.send("POST /upload HTTP/1.1\r\nHost: vote.test\r\nContent-Length: 100000\r\n\r\n")
        let started = ContinuousClock.now
        var cut = false
        while ContinuousClock.now - started < .seconds(10) {
            if !slow.send("aaaaaaaaaa") { cut = true; break }
            if slow.readable(within: 0) { cut = true; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let answer = slow.readUntilClosed(idle: 2000)
        slow.close()
        #expect(cut || answer.hasPrefix("HTTP/1.1 408"))
        #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(300))")
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(await eventually { await metric(pnyx, "pnyx_slow_clients_closed_total{kind=\"body\"}") == 1 })

        let body = String(repeating: "b", count: 200_000)
        let normal = RawHTTP.Response(
            raw: try await RawHTTP.exchange(
                port: pnyx.httpPort,
                "POST /upload HTTP/1.1\r\nHost: vote.test\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"))
        #expect(normal.status == 200)
        #expect(normal.body == "received 200000\n")
    }

    @Test("a client that does not read a large response is disconnected (slow read)")
    func slowRead() async throws {
        let origin = try await TestOrigin.start()
        let pnyx = try await PnyxProcess.start(yaml: siteConfig(originPort: origin.port, extraTop: Self.limits))
        defer { Task { await pnyx.stop(); await origin.stop() } }

        let reader = try TCPProbe(port: pnyx.httpPort, receiveBuffer: 4096)
        reader.send("GET /download?bytes=\(256 << 20) HTTP/1.1\r\nHost: vote.test\r\n\r\n")
        // Never read: within the grace period plus what the socket buffers hold at 64 KiB/s, Pnyx gives up.
        #expect(await eventually(within: .seconds(60)) {
            await metric(pnyx, "pnyx_slow_clients_closed_total{kind=\"send\"}") == 1
        })
        reader.close()
        // A client that reads normally gets the whole thing.
        let normal = try await RawHTTP.get(port: pnyx.httpPort, path: "/download?bytes=\(4 << 20)")
        #expect(normal.status == 200)
        #expect(normal.body.utf8.count == 4 << 20)
    }
}

/// The value of one Prometheus sample line on the admin listener's `/metrics` (nil if absent).
func metric(_ pnyx: PnyxProcess, _ sample: String) async -> Int? {
    guard let text = try? await adminGET(pnyx, "/metrics").body else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
        return Int(line.dropFirst(sample.count + 1))
    }
    return nil
}
