import Foundation
import PnyxCore
import Testing

@Suite("Wall clock")
struct WallClockTests {
    @Test("iso8601(millis:) writes UTC to the second, as Foundation's ISO 8601 format does")
    func iso() {
        #expect(iso8601(millis: 1_762_203_845_123) == "2025-11-03T21:04:05Z")
        #expect(iso8601(millis: 0) == "1970-01-01T00:00:00Z")
        for millis: Int64 in [951_782_400_000, 1_709_164_799_999, 4_102_444_800_000, wallMillis()] {
            #expect(iso8601(millis: millis) == Date(timeIntervalSince1970: Double(millis / 1000)).formatted(.iso8601))
        }
    }
}
