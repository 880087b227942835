import Atomics

/// Connections closed by the slow-client defence, by kind, for metrics. Shared by every event loop.
public final class SlowClientCounters: Sendable {
    /// Request head not finished within the header-read timeout (slowloris).
    public let header = ManagedAtomic<Int>(0)
    /// Request body arriving below the minimum rate (slow POST).
    public let body = ManagedAtomic<Int>(0)
    /// Response read by the client below the minimum rate (slow read).
    public let send = ManagedAtomic<Int>(0)
    public init() {}
}
