import FerryCore
import Foundation

/// At most `limit` requests start in any window of `window` seconds (LiteLLM's `rpm`: 60 s): a sliding log of
/// start times. A request that would exceed it is given the earliest start that keeps every window within the
/// limit, in arrival order, and waits for it on the client's clock before taking a concurrency slot.
final class RequestRateLimiter: @unchecked Sendable {
    let limit: Int
    let window: Double
    private let clock: FerryClock
    private let lock = NSLock()
    /// Start times granted, oldest first; only the last `limit` matter.
    private var starts: [Double] = []

    init(limit: Int, window: Double = 60, clock: FerryClock) {
        self.limit = max(limit, 1)
        self.window = window
        self.clock = clock
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: RequestRateLimiter] = [:]

    /// The limiter of `endpointID` at `limit` for this whole process: clients made again for each pass of a
    /// `reconcile --interval` loop share it, so a pass starting right after another cannot start a fresh minute.
    static func shared(endpointID: String, limit: Int, clock: FerryClock) -> RequestRateLimiter {
        registryLock.withLock {
            let key = "\(limit)|\(endpointID)"
            if let limiter = registry[key] { return limiter }
            let limiter = RequestRateLimiter(limit: limit, clock: clock)
            registry[key] = limiter
            return limiter
        }
    }

    /// Reserves the next start and waits for it.
    /// - Returns: the seconds waited (0 when the request could start at once).
    /// - Throws: `CancellationError` when the task is cancelled while it waits (its reservation is then kept: the
    ///   limit stays on the safe side).
    @discardableResult
    func acquire() async throws -> Double {
        let now = clock.now()
        let start: Double = lock.withLock {
            var start = now
            if starts.count >= limit {
                start = max(now, starts[starts.count - limit] + window)
            }
            starts.append(start)
            if starts.count > limit { starts.removeFirst(starts.count - limit) }
            return start
        }
        let wait = start - now
        if wait > 0 { try await clock.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) }
        return max(wait, 0)
    }
}
