import PnyxChallenge
import PnyxIntegrity
import PnyxConfig
import PnyxCore
import PnyxDefense
import Atomics
import PnyxServer
import PnyxWAF
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The order of the data path's filters. Protections from later modules (WAF, traffic defense, challenge,
/// cache, integrity) are inserted between the standard head and tail filters here.
enum PipelineFactory {
    static func makeChain(
        configuration: PnyxConfiguration, sites: [Site], accessLog: AccessLogSink?, traffic: TrafficState,
        cache: EdgeCache? = nil, challenge: ChallengeState? = nil, integrity: IntegrityState? = nil,
        waf: WAFRuleSets? = nil, tally: RequestTally? = nil, statusBoard: StatusBoard? = nil
    ) throws -> FilterChain {
        let head = StandardFilters.head()
        var protections: [any Filter] = []
        let countries = try configuration.geoipDatabase.map { try traffic.countries.open($0) }
        let access = AccessListFilter(
            global: configuration.access, trustedProxies: configuration.trustedProxies, sites: sites, countries: countries)
        if !access.isEmpty { protections.append(access) }
        // Always in the chain: even with new bans off, bans already made (or cleared by hand) keep working.
        protections.append(BanFilter(policy: configuration.bans, registry: traffic.bans, strikes: traffic.strikes))
        let rateLimits = RateLimitFilter(
            sites: sites, counters: traffic.counters, penalties: traffic.penalties, traffic: traffic.sites)
        if !rateLimits.isEmpty { protections.append(rateLimits) }
        // After the cheap refusals (lists, bans, rates): CRS on the head, and on the body held back until inspected.
        if let waf {
            do {
                let filter = try WAFFilter(sites: sites, ruleSets: waf)
                if !filter.isEmpty { protections.append(filter) }
            } catch {
                throw SnapshotBuildError(problems: ["waf: \(error)"])
            }
        }
        // The opt-in public status page: rate-limited like everything, never behind the challenge.
        if let cache, let statusBoard {
            let status = StatusPageFilter(
                sites: sites, health: cache.health, board: statusBoard, posture: { site in traffic.sites.traffic(for: site.name) })
            if !status.isEmpty { protections.append(status) }
        }
        // Serves the public key and log (rate-limited, but never behind the challenge, so anyone can verify), and
        // gathers pinned and signed origin responses.
        if let integrity { protections.append(try IntegrityFilter(sites: sites, state: integrity)) }
        // After the rate limits (a rule may ask for the challenge); it reads each site's escalation posture.
        if let challenge {
            protections.append(
                ChallengeFilter(sites: sites, state: challenge) { site in traffic.sites.traffic(for: site.name) })
        }
        // Counts each site's requests, refusals and origin health for automatic escalation.
        let stats = TrafficStatsFilter(sites: sites, registry: traffic.sites, shard: traffic.sites.takeShard())
        if !stats.isEmpty { protections.append(stats) }
        var tail = StandardFilters.tail(
            configuration: configuration, sites: sites,
            blockingFilters: (head + protections).map(\.name), accessLog: accessLog)
        if let cache { tail.append(CacheStatsFilter(sites: sites, registry: cache.stats)) }
        if let tally { tail.append(TallyFilter(sites: sites, tally: tally)) }
        return FilterChain(head + protections + tail)
    }
}

/// Traffic-defense state that outlives reloads and is shared by every event loop: the rate counters, the
/// penalty box and the ban strikes (bounded, lock-free tables), and the node's bans.
struct TrafficState: Sendable {
    let counters = RateCounterTable()
    let penalties = PenaltyTable()
    let strikes = RateCounterTable(slots: 1 << 16)
    let bans = BanRegistry()
    let countries = CountryDatabases()
    /// Per-site traffic counters and postures for automatic escalation.
    let sites = SiteTrafficRegistry()
    let escalations = ManagedAtomic<Int>(0)
}

/// The country database in use, opened once and shared by every replica and reload until its file changes.
final class CountryDatabases: Sendable {
    private struct Opened {
        var path: String
        var modified: Int
        var size: Int
        var database: CountryDatabase
    }
    private let current = Mutex<Opened?>(nil)

    func open(_ path: String) throws -> CountryDatabase {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SnapshotBuildError(problems: ["geoip.database: cannot read '\(path)': \(String(cString: strerror(errno)))"])
        }
        let modified = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
        let size = Int(info.st_size)
        return try current.withLock { opened in
            if let opened, opened.path == path, opened.modified == modified, opened.size == size { return opened.database }
            do {
                let database = try CountryDatabase(path: path)
                opened = Opened(path: path, modified: modified, size: size, database: database)
                return database
            } catch {
                throw SnapshotBuildError(problems: ["geoip.database: \(error)"])
            }
        }
    }
}
