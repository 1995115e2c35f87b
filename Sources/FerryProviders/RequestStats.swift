import Foundation

/// Counts of requests, failures, retries and latency per operation for one client; safe to read from any task.
public final class RequestStats: @unchecked Sendable {
    /// Totals for one operation.
    public struct OperationStats: Sendable, Hashable {
        /// HTTP requests sent (every attempt counts).
        public var requests: Int = 0
        /// Attempts that ended in a failure (retried or not).
        public var failures: Int = 0
        /// Retries performed (attempts beyond the first).
        public var retries: Int = 0
        /// Sum of attempt durations, from sending to the end of the response body.
        public var totalLatency: Duration = .zero
        /// Requests that waited for the endpoint's request rate limit (`rpm`) before they were sent.
        public var rateLimitWaits: Int = 0

        public init() {}
    }

    private let lock = NSLock()
    // Guarded by `lock`.
    private var byOperation: [ProviderOperation: OperationStats] = [:]

    public init() {}

    /// A consistent copy of every operation's totals.
    public func snapshot() -> [ProviderOperation: OperationStats] {
        lock.withLock { byOperation }
    }

    /// One operation's totals (zero when it never ran).
    public subscript(operation: ProviderOperation) -> OperationStats {
        lock.withLock { byOperation[operation] ?? OperationStats() }
    }

    /// Requests of every operation together.
    public var totalRequests: Int {
        lock.withLock { byOperation.values.reduce(0) { $0 + $1.requests } }
    }

    func recordAttempt(_ operation: ProviderOperation, latency: Duration, failed: Bool) {
        lock.withLock {
            var stats = byOperation[operation] ?? OperationStats()
            stats.requests += 1
            stats.totalLatency += latency
            if failed { stats.failures += 1 }
            byOperation[operation] = stats
        }
    }

    func recordRateLimitWait(_ operation: ProviderOperation) {
        lock.withLock { byOperation[operation, default: OperationStats()].rateLimitWaits += 1 }
    }

    func recordRetry(_ operation: ProviderOperation) {
        lock.withLock { byOperation[operation, default: OperationStats()].retries += 1 }
    }
}
