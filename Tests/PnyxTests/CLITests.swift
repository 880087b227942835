import Foundation
import Testing

@Suite("Command line")
struct CLITests {
    @Test("check-config prints every error with file:line:column and exits 1; a good file exits 0")
    func checkConfig() async throws {
        let dir = try PnyxProcess.makeDirectory()
        let bad = dir.appendingPathComponent("bad.yaml").path
        try """
            listen:
              http: 127.0.0.1:8080
            sitez: []
            sites:
              - name: county
                hosts: [vote.example.gov]
                origins: [http://127.0.0.1:notaport]
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try await run(PnyxProcess.binary.path, ["check-config", bad])
        #expect(result.status == 1)
        #expect(result.error.contains("\(bad):3:1: sitez: unknown key 'sitez'"))
        #expect(result.error.contains("\(bad):7:"))
        #expect(result.error.contains("2 errors"))

        let good = dir.appendingPathComponent("good.yaml").path
        try """
            listen:
              http: 127.0.0.1:8080
            sites:
              - name: county
                hosts: [vote.example.gov]
                origins: [http://127.0.0.1:9000]
            """.write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try await run(PnyxProcess.binary.path, ["check-config", good])
        #expect(ok.status == 0)
        #expect(ok.output.contains("OK: 1 site"))
    }

    @Test("the example configuration in examples/ is valid")
    func exampleIsValid() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/pnyx.yaml").path
        let result = try await run(PnyxProcess.binary.path, ["check-config", path])
        #expect(result.status == 0, "\(result.error)")
    }

    @Test("version prints the version")
    func version() async throws {
        let result = try await run(PnyxProcess.binary.path, ["version"])
        #expect(result.output.hasPrefix("pnyx 0."))
    }
}
