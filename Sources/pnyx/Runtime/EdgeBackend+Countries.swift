import PnyxCore

extension EdgeBackend {
    /// How many of the most-refused addresses are placed on the map: refusals from addresses beyond them (rare
    /// ones in a wide botnet) are not counted by country.
    static let countryLookupDepth = 5_000

    /// Countries of refused requests, from the configured country database (`geoip:`), looked up when asked:
    /// events record the address, and the database may be newer than the event.
    func topCountries(sites: [String]?, fromMillis: Int64, toMillis: Int64, limit: Int) async throws -> [RankedValue]? {
        guard let path = snapshots.snapshot.configuration.geoipDatabase else { return nil }
        let clients = try await store.top(.client, sites: sites, fromMillis: fromMillis, toMillis: toMillis, limit: Self.countryLookupDepth)
        let database = try traffic.countries.open(path)  // the one the access rules use, opened once
        var counts: [String: Int] = [:]
        for client in clients {
            let country = IPAddress(client.value).flatMap { database.country(of: $0) }.map(\.description) ?? "unknown"
            counts[country, default: 0] += client.count
        }
        let ranked = counts.map { RankedValue(value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
        return Array(ranked.prefix(limit))
    }
}
