/// Polls `condition` until it holds or `timeout` passes, and returns its last answer. Tests use it instead of a
/// fixed sleep before checking something that happens asynchronously (a log line written, an event stored,
/// a connection released): a fixed sleep is either slow or flaky on a loaded 2-core CI machine.
func eventually(
    within timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
