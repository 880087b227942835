import Atomics
import Synchronization

/// Counters for `pnyx_integrity_total{site,result}`.
public final class IntegrityStats: Sendable {
    public enum Result: String, CaseIterable, Sendable {
        /// A pinned path's origin response matched its baseline.
        case matched
        /// It differed and was served anyway (monitor).
        case changed
        /// It differed and the approved version was served instead (protect).
        case protected
        /// Too large or encoded: passed unchecked.
        case unchecked
        /// A response under a signed path was signed.
        case signed
    }

    public final class Counters: Sendable {
        let values: [ManagedAtomic<Int>] = Result.allCases.map { _ in ManagedAtomic(0) }
        public func add(_ result: Result) {
            values[Result.allCases.firstIndex(of: result)!].wrappingIncrement(ordering: .relaxed)
        }
        public func count(_ result: Result) -> Int {
            values[Result.allCases.firstIndex(of: result)!].load(ordering: .relaxed)
        }
    }

    private let sites = Mutex<[String: Counters]>([:])

    public init() {}

    /// The counters of `site` (looked up when a snapshot is built, not per request).
    public func counters(for site: String) -> Counters {
        sites.withLock { all in
            if let c = all[site] { return c }
            let c = Counters()
            all[site] = c
            return c
        }
    }

    public var all: [(String, Counters)] { sites.withLock { $0.sorted { $0.key < $1.key } } }
}
