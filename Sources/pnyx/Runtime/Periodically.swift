import ServiceLifecycle

/// Runs `tick` every `interval` until the task is cancelled or the service group shuts down gracefully (the
/// sleep is cancelled then, so a periodic service stops at once, not at its next tick). `tick` gets the state it
/// carries from one tick to the next, and the time since the previous tick.
func runPeriodically<State: Sendable>(
    every interval: Duration, state initial: State, _ tick: @escaping @Sendable (inout State, Duration) async -> Void
) async {
    try? await cancelWhenGracefulShutdown {
        var state = initial
        var last = ContinuousClock.now
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            let now = ContinuousClock.now
            await tick(&state, now - last)
            last = now
        }
    }
}
