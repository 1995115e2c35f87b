import Foundation

/// A value guarded by a lock (`Synchronization.Mutex` needs macOS 15).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A result set once, that async callers can wait for.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private enum State {
        case pending([CheckedContinuation<Value, any Error>])
        case done(Result<Value, any Error>)
    }

    private let lock = NSLock()
    private var state: State = .pending([])

    func succeed(_ value: Value) { complete(.success(value)) }
    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ result: Result<Value, any Error>) {
        lock.lock()
        guard case .pending(let waiters) = state else {
            lock.unlock()
            return
        }
        state = .done(result)
        lock.unlock()
        for waiter in waiters { waiter.resume(with: result) }
    }

    func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            switch state {
            case .pending(var waiters):
                waiters.append(continuation)
                state = .pending(waiters)
                lock.unlock()
            case .done(let result):
                lock.unlock()
                continuation.resume(with: result)
            }
        }
    }
}
