import NIOCore
import NIOHTTP1
import PnyxCore
import Synchronization
import Testing

@Suite("Filter chain")
struct FilterChainTests {
    final class Log: Sendable {
        let calls = Mutex<[String]>([])
        func add(_ call: String) { calls.withLock { $0.append(call) } }
    }

    final class Recording: Filter {
        let name: FilterName
        let phases: PhaseSet
        let log: Log
        let blockHead: Bool

        init(name: FilterName, phases: PhaseSet, log: Log, blockHead: Bool = false) {
            self.name = name
            self.phases = phases
            self.log = log
            self.blockHead = blockHead
        }

        func requestHead(_ context: RequestContext) -> Verdict {
            log.add("\(name).requestHead")
            if blockHead {
                return .block(Block(status: .forbidden, filter: name, rule: "r1", message: "no"))
            }
            return .continue
        }
        func response(_ context: RequestContext, head: inout ResponseHead) {
            log.add("\(name).response")
            head.headers.add(name: "x-\(name)", value: "1")
        }
        func complete(_ context: RequestContext) { log.add("\(name).complete") }
    }

    final class DefaultPhases: Filter {
        let name: FilterName = "default"
        let log: Log
        init(log: Log) { self.log = log }
        func requestHead(_ context: RequestContext) -> Verdict {
            log.add("default.requestHead")
            return .continue
        }
    }

    static func context() -> RequestContext {
        requestContext(site: testSite("s"), client: nil)
    }

    @Test("filters are called only in the phases they declare, in order; the default is every phase")
    func phaseRouting() {
        let log = Log()
        let chain = FilterChain([
            Recording(name: "a", phases: [.requestHead, .complete], log: log),
            Recording(name: "b", phases: .response, log: log),
            DefaultPhases(log: log),
        ])
        let context = Self.context()
        #expect({ if case .continue = chain.requestHead(context) { return true } else { return false } }())
        var head = ResponseHead(status: .ok)
        chain.response(context, head: &head)
        chain.complete(context)
        #expect(log.calls.withLock { $0 } == ["a.requestHead", "default.requestHead", "b.response", "a.complete"])
        #expect(head.headers["x-b"] == ["1"])
        #expect(head.headers["x-a"].isEmpty)
    }

    final class Tagging: ResponseCollector, Sendable {
        let tag: String
        let limit: Int
        let log: Log
        init(_ tag: String, limit: Int, log: Log) {
            self.tag = tag
            self.limit = limit
            self.log = log
        }
        func finish(_ context: RequestContext, head: inout ResponseHead, body: inout ByteBuffer) -> Verdict {
            log.add("\(tag).finish:\(body.readableBytes)")
            body.writeString(tag)
            return .continue
        }
        func overflowed(_ context: RequestContext, head: ResponseHead) { log.add("\(tag).overflowed") }
    }

    final class Collecting: Filter {
        let name: FilterName
        let collector: Tagging
        var phases: PhaseSet { .originBody }
        init(_ collector: Tagging) {
            self.name = FilterName(collector.tag)
            self.collector = collector
        }
        func originBody(_ context: RequestContext, head: ResponseHead) -> (any ResponseCollector)? { collector }
    }

    @Test("every filter's collector gets the gathered body, the origin's side (the chain's end) first; one whose limit the body exceeds is told it overflowed")
    func collectorsCompose() throws {
        let log = Log()
        let chain = FilterChain([
            Collecting(Tagging("outer", limit: 100, log: log)), Collecting(Tagging("inner", limit: 3, log: log)),
        ])
        let context = Self.context()
        let collector = try #require(chain.originBody(context, head: ResponseHead(status: .ok)))
        #expect(collector.limit == 100)
        var head = ResponseHead(status: .ok)
        var body = ByteBuffer(string: "ab")
        _ = collector.finish(context, head: &head, body: &body)
        #expect(String(buffer: body) == "abinnerouter")
        var long = ByteBuffer(string: "abcd")
        _ = collector.finish(context, head: &head, body: &long)
        #expect(log.calls.withLock { $0 } == ["inner.finish:2", "outer.finish:7", "inner.overflowed", "outer.finish:4"])
    }

    @Test("the connection phase reports which filter refused")
    func connectionPhase() {
        final class RefuseAll: Filter {
            let name: FilterName = "deny_list"
            var phases: PhaseSet { .connection }
            func connection(_ connection: ConnectionInfo) -> Verdict {
                .block(Block(status: .forbidden, filter: name, rule: "ip", message: "denied"))
            }
        }
        let chain = FilterChain([RefuseAll()])
        let (verdict, filter) = chain.connection(ConnectionInfo(peer: IPAddress("192.0.2.1"), isTLS: false))
        guard case .block = verdict else {
            Issue.record("expected a block")
            return
        }
        #expect(filter == "deny_list")
        #expect(FilterChain([]).connection(ConnectionInfo(peer: nil, isTLS: true)).1 == nil)
    }

    @Test("the first filter that blocks ends the phase")
    func shortCircuit() {
        let log = Log()
        let chain = FilterChain([
            Recording(name: "first", phases: .requestHead, log: log, blockHead: true),
            Recording(name: "second", phases: .requestHead, log: log),
        ])
        guard case .block(let block) = chain.requestHead(Self.context()) else {
            Issue.record("expected a block")
            return
        }
        #expect(block.filter == "first")
        #expect(block.rule == "r1")
        #expect(log.calls.withLock { $0 } == ["first.requestHead"])
    }

    @Test("per-site tables find a snapshot's sites by index, others by identity, and never a stranger's data")
    func siteTable() {
        let a = Site(configuration: SiteConfiguration(name: SiteName("a"), hosts: ["a.test"], origins: []), index: 0)
        let b = Site(configuration: SiteConfiguration(name: SiteName("b"), hosts: ["b.test"], origins: []), index: 1)
        let loose = Site(configuration: SiteConfiguration(name: SiteName("c"), hosts: ["c.test"], origins: []))
        let table = SiteTable([a, b, loose]) { $0.name.rawValue == "b" ? nil : $0.name.rawValue }
        #expect(table[a] == "a")
        #expect(table[b] == nil)
        #expect(table[loose] == "c")
        // Another snapshot's site at the same index is not mistaken for this one's.
        let other = Site(configuration: SiteConfiguration(name: SiteName("a"), hosts: ["a.test"], origins: []), index: 0)
        #expect(table[other] == nil)
        #expect(SiteTable<Int>([a]) { _ in nil }.isEmpty)
    }
}
