import Foundation
import Testing
@testable import PnyxAdmin

/// The enrolment QR code, read back by a real decoder (zbarimg, Debian's zbar-tools).
@Suite("QR code for authenticator enrolment")
struct QRCodeTests {
    /// The code as a PBM image (4 pixels per module, 4-module quiet zone), decoded by zbarimg.
    static func decode(_ code: QRCode) async throws -> String {
        let scale = 4
        let side = (code.size + 8) * scale
        var text = "P1\n\(side) \(side)\n"
        for py in 0..<side {
            var row: [String] = []
            for px in 0..<side {
                let x = px / scale - 4
                let y = py / scale - 4
                row.append(x >= 0 && y >= 0 && x < code.size && y < code.size && code.isDark(x: x, y: y) ? "1" : "0")
            }
            text += row.joined(separator: " ") + "\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pnyx-qr-\(UUID().uuidString.prefix(8)).pbm")
        try text.write(to: file, atomically: true, encoding: .ascii)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file.path])
        #expect(result.status == 0, "zbarimg: \(result.error)")
        return result.output.hasSuffix("\n") ? String(result.output.dropLast()) : result.output
    }

    @Test("codes of every size an enrolment needs, and larger, decode to the text they carry", arguments: [
        "otpauth://totp/Pnyx:dana?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Pnyx&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/Pnyx:county.clerk%40adams.example.gov?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Pnyx",
        "hi",
        String(repeating: "A long enrolment text for a larger version. ", count: 12),
    ])
    func decodes(text: String) async throws {
        let code = try #require(QRCode(text))
        #expect(try await Self.decode(code) == text)
    }

    @Test("the SVG draws every dark module inside a quiet zone, with no script or style")
    func svg() throws {
        let uri = "otpauth://totp/Pnyx:dana?secret=JBSWY3DPEHPK3PXP&issuer=Pnyx"
        let code = try #require(QRCode(uri))
        let svg = try #require(QRCode.svg(uri))
        let dark = code.modules.filter { $0 }.count
        #expect(svg.components(separatedBy: "h1v1h-1z").count - 1 == dark)
        #expect(svg.contains("viewBox=\"0 0 \(code.size + 8) \(code.size + 8)\""))
        #expect(!svg.contains("<script") && !svg.contains("style="))
        #expect(QRCode(String(repeating: "x", count: 3000)) == nil, "longer than version 40 holds")
    }
}
