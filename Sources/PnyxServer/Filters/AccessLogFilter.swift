import PnyxCore

/// Writes one JSON line per request in the complete phase.
public final class AccessLogFilter: Filter {
    public let name: FilterName = "access_log"
    public var phases: PhaseSet { .complete }
    let sink: AccessLogSink

    public init(sink: AccessLogSink) {
        self.sink = sink
    }

    public func complete(_ context: RequestContext) {
        sink.append { AccessLogLine.format(context, into: &$0) }
    }
}
