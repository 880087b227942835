import Synchronization

/// A small mutex-protected value for start-up coordination (never used on the request path).
final class NIOLockedValueBoxCompat<Value>: @unchecked Sendable {
    private let mutex: Mutex<Value>
    init(_ value: sending Value) { self.mutex = Mutex(value) }
    func withLock<T>(_ body: (inout sending Value) -> sending T) -> sending T { mutex.withLock(body) }
}
