import Atomics
import PnyxCore
import Synchronization

/// What the challenge keeps across reloads: the signing keys, the counters, the good-bot verdicts and the
/// no-JavaScript pass budget per client network.
public final class ChallengeState: Sendable {
    public let keys: ChallengeKeys
    public let stats = ChallengeStats()
    public let bots: GoodBotVerifier
    let noscript = NoscriptBudget()

    public init(keys: ChallengeKeys, resolver: any HostResolver = SystemResolver()) {
        self.keys = keys
        self.bots = GoodBotVerifier(resolver: resolver)
    }
}

/// Challenge outcomes per site, for Prometheus and the periodic events.
public final class ChallengeStats: Sendable {
    public enum Result: String, CaseIterable, Sendable {
        /// A challenge page was shown.
        case issued
        /// A browser solved one and got clearance.
        case solved
        /// A wrong, forged or expired answer.
        case failed
        /// A request passed with a valid clearance cookie.
        case passed
        /// A verified search engine or archive passed.
        case bot
        /// A client without JavaScript was let through after the wait.
        case noscript
        /// Another method from a client without clearance was refused.
        case refused
        /// A client that wants JSON got a 429 instead of the page.
        case json

        /// Position in `allCases`, without building the array (this is on the data path).
        var index: Int {
            switch self {
            case .issued: return 0
            case .solved: return 1
            case .failed: return 2
            case .passed: return 3
            case .bot: return 4
            case .noscript: return 5
            case .refused: return 6
            case .json: return 7
            }
        }
    }

    public final class Counters: Sendable {
        let values: [ManagedAtomic<Int>] = Result.allCases.map { _ in ManagedAtomic(0) }
        @inline(__always)
        func add(_ result: Result) { values[result.index].wrappingIncrement(ordering: .relaxed) }
        public func count(_ result: Result) -> Int { values[result.index].load(ordering: .relaxed) }
    }

    private let sites = Mutex<[String: Counters]>([:])

    public func counters(for site: String) -> Counters {
        sites.withLock { sites in
            if let existing = sites[site] { return existing }
            let made = Counters()
            sites[site] = made
            return made
        }
    }

    public var all: [(String, Counters)] { sites.withLock { $0.sorted { $0.key < $1.key } } }
}

/// At most N no-JavaScript passes per client network per 10 minutes, so a script gains nothing from waiting.
final class NoscriptBudget: Sendable {
    private let windows = Mutex<[String: (count: Int, start: Int64)]>([:])
    static let window: Int64 = 600

    func take(_ prefix: String, limit: Int, now: Int64) -> Bool {
        windows.withLock { windows in
            if windows.count > 50_000 { windows = windows.filter { now - $0.value.start < Self.window } }
            var entry = windows[prefix] ?? (0, now)
            if now - entry.start >= Self.window { entry = (0, now) }
            guard entry.count < limit else { return false }
            entry.count += 1
            windows[prefix] = entry
            return true
        }
    }
}
