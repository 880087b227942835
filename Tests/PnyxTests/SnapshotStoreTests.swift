import NIOCore
import NIOPosix
import PnyxConfig
import PnyxCore
import Testing
@testable import PnyxServer

@Suite("Per-event-loop snapshot replicas")
struct SnapshotStoreTests {
    static let yaml = """
        listen: { http: 127.0.0.1:1 }
        sites:
          - name: county
            hosts: [vote.example.gov]
            origins: [http://127.0.0.1:9000]
        """

    @Test("each event loop gets its own object graph; a swap replaces every loop's replica")
    func replicas() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let configuration = try ConfigLoader.parse(yaml: Self.yaml)
        let builder = SnapshotBuilder(events: DiscardingEventSink()) { _, _ in FilterChain([]) }

        let first = try builder.build(configuration, generation: 1, replicas: 2)
        let store = SnapshotStore(first, group: group)
        #expect(store.replicaCount == 2)
        let a = store.cell(for: loops[0]).load(ordering: .acquiring)
        let b = store.cell(for: loops[1]).load(ordering: .acquiring)
        #expect(a !== b)
        #expect(a.chain !== b.chain)
        let routeA = try #require(a.router.site(for: "vote.example.gov"))
        let routeB = try #require(b.router.site(for: "vote.example.gov"))
        #expect(routeA !== routeB)
        #expect(routeA.site !== routeB.site)
        #expect(routeA.origins == routeB.origins)  // resolved once, the same addresses

        let second = try builder.build(configuration, generation: 2, replicas: 2)
        store.swap(second)
        for loop in loops {
            #expect(store.cell(for: loop).load(ordering: .acquiring).generation == 2)
        }
        #expect(store.snapshot.generation == 2)
        try await group.shutdownGracefully()
    }
}
