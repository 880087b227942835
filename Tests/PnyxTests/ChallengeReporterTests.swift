@testable import PnyxChallenge
import PnyxCore
import Testing
@testable import pnyx

@Suite("Challenge summary events")
struct ChallengeReporterTests {
    @Test("each interval, each site's challenge counts since the last one become one security event")
    func summaries() {
        let stats = ChallengeStats()
        let county = stats.counters(for: "county")
        _ = stats.counters(for: "quiet")
        county.add(.passed)
        let before = ChallengeReporter.snapshot(stats)
        for _ in 0..<3 { county.add(.issued) }
        for _ in 0..<2 { county.add(.solved) }
        county.add(.failed)
        let events = ChallengeReporter.summaries(from: before, to: ChallengeReporter.snapshot(stats), interval: .seconds(60))
        #expect(events.count == 1)  // the quiet site had nothing to say
        let event = events[0]
        #expect(event.site == "county")
        #expect(event.filter == "challenge")
        #expect(event.action == .challenge)
        #expect(event.rule == "summary")
        #expect(event.evidence == "issued 3, solved 2, failed 1 in the last 60s")
        #expect(ChallengeReporter.summaries(from: ChallengeReporter.snapshot(stats), to: ChallengeReporter.snapshot(stats), interval: .seconds(60)).isEmpty)
    }
}
