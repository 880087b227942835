import Foundation
import PnyxAdmin
import PnyxCore
import PnyxIntegrity
import PnyxServer

/// Pinning, approval and the integrity status, for the admin API and `pnyx integrity …`.
extension EdgeBackend {
    func siteConfiguration(_ site: String) throws -> SiteConfiguration {
        guard let configuration = snapshots.snapshot.configuration.sites.first(where: { $0.name.rawValue == site }) else {
            throw AdminInputError("no site is named '\(site)'")
        }
        return configuration
    }

    func integrityStatus(site: String) throws -> IntegrityStatus {
        let configuration = try siteConfiguration(site)
        let policy = configuration.integrity
        let store = integrity.baselines(for: site)
        let signer = integrity.existingSigner(for: site)
        return IntegrityStatus(
            site: site, mode: policy.mode.rawValue, signedPaths: policy.signedPaths.map(\.text), keyid: signer?.key.keyID,
            logSize: signer?.log.size ?? 0,
            baselines: store.baselines.map { Self.baselineDTO($0, policy: policy) },
            pending: store.pendingVersions.map {
                IntegrityPending(
                    path: $0.path, digest: $0.digest, size: $0.size, firstSeen: iso8601(millis: $0.firstSeen * 1000),
                    lastSeen: iso8601(millis: $0.lastSeen * 1000), seen: $0.seen)
            })
    }

    static func baselineDTO(_ baseline: Baseline, policy: IntegrityPolicy) -> IntegrityBaseline {
        let path = baseline.path.split(separator: "?", maxSplits: 1)[0]
        return IntegrityBaseline(
            path: baseline.path, mode: policy.mode(for: path).rawValue, contentType: baseline.contentType, digest: baseline.digest,
            size: baseline.size, approvedAt: iso8601(millis: baseline.approvedAt * 1000), approvedBy: baseline.approvedBy)
    }

    func pin(site: String, paths: [String], depth: Int) async throws -> [PinResult] {
        let configuration = try siteConfiguration(site)
        let store = integrity.baselines(for: site)
        let now = Int64(Date().timeIntervalSince1970)
        let runtime = proxy
        let group = self.group
        let maxBody = configuration.integrity.maxBodyBytes
        let outcomes = await Pinner.pin(
            paths: paths, depth: depth, hosts: configuration.hosts, store: store,
            normaliser: PageNormaliser(configuration.integrity.ignore), by: "pin", now: now
        ) { target in
            let response = try await SiteFetch.fetch(runtime: runtime, group: group, site: site, target: target, maxBody: maxBody)
            return FetchedPage(
                status: response.status, contentType: response.contentType, body: response.body,
                contentEncoding: response.contentEncoding)
        }
        let pinned = outcomes.filter { $0.result == "pinned" }.map(\.path)
        // A copy stored before the pin was never compared: the next request fetches and compares.
        if !pinned.isEmpty { _ = await proxy.cache.purge(site: site, targets: pinned) }
        for path in pinned { record(site: site, rule: "pinned", path: path, evidence: "approved as fetched from the origin") }
        return outcomes.map { PinResult(path: $0.path, result: $0.result, detail: $0.detail) }
    }

    func approve(site: String, path: String) async throws -> IntegrityBaseline {
        let configuration = try siteConfiguration(site)
        let store = integrity.baselines(for: site)
        guard
            let baseline = store.approvePending(
                path: path, normaliser: PageNormaliser(configuration.integrity.ignore), by: "approve",
                now: Int64(Date().timeIntervalSince1970))
        else {
            throw AdminInputError("no version of '\(path)' is waiting for approval (see pnyx integrity status)")
        }
        _ = await proxy.cache.purge(site: site, targets: [path])
        record(site: site, rule: "approved", path: path, evidence: "new version approved (sha-256 \(baseline.digest.prefix(12)))")
        return Self.baselineDTO(baseline, policy: configuration.integrity)
    }

    func reject(site: String, path: String) async throws -> Bool {
        _ = try siteConfiguration(site)
        let rejected = integrity.baselines(for: site).rejectPending(path: path)
        if rejected { record(site: site, rule: "rejected", path: path, evidence: "the version held for approval was rejected; the pinned copy stays") }
        return rejected
    }

    func unpin(site: String, path: String) async throws -> Bool {
        _ = try siteConfiguration(site)
        let removed = integrity.baselines(for: site).unpin(path: path)
        if removed {
            _ = await proxy.cache.purge(site: site, targets: [path])
            record(site: site, rule: "unpinned", path: path, evidence: "no longer compared")
        }
        return removed
    }

    func scripts(site: String) throws -> [InventoryScript] {
        _ = try siteConfiguration(site)
        return integrity.scripts(for: site).inventory.all.map {
            InventoryScript(
                id: $0.id, kind: $0.kind.rawValue, host: $0.host, thirdParty: $0.thirdParty, contentHash: $0.contentHash,
                firstSeen: iso8601(millis: $0.firstSeen * 1000), lastSeen: iso8601(millis: $0.lastSeen * 1000), pages: $0.pages,
                approved: $0.approved, flagged: $0.flagged, source: $0.source)
        }
    }

    func approveScripts(site: String, ids: [String]?) throws -> Int {
        _ = try siteConfiguration(site)
        let count = integrity.scripts(for: site).approve(ids)
        if count > 0 {
            record(site: site, rule: "scripts_approved", path: "-", evidence: ids.map { "\($0.count) script(s) approved" } ?? "every script not flagged approved (\(count))")
        }
        return count
    }

    private func record(site: String, rule: String, path: String, evidence: String) {
        events.emit(
            SecurityEvent(
                timeMillis: Int64(Date().timeIntervalSince1970 * 1000), site: site, client: "admin", filter: "integrity", rule: rule,
                action: .log, method: "-", path: path, evidence: evidence, requestID: "-"))
    }
}
