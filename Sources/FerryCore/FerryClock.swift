import Foundation

/// Ferry's one source of time: wall-clock seconds for what is recorded (runs, leases, intents, listings) and
/// sleeping for what waits (the reconcile interval, backoff, lease polling and heartbeats).
///
/// Everything that needs time takes a `FerryClock`; production passes `.system`, tests pass a manual clock that
/// moves only when told to (or when something sleeps on it), so no test has to sleep for real.
public struct FerryClock: Sendable {
    private let currentSeconds: @Sendable () -> Double
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// - Parameters:
    ///   - now: seconds since 1970-01-01 UTC.
    ///   - sleep: suspends for a duration; throws `CancellationError` when the task is cancelled.
    public init(now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.currentSeconds = now
        self.sleeper = sleep
    }

    /// The real clock.
    public static let system = FerryClock(
        now: { Date().timeIntervalSince1970 }, sleep: { try await Task.sleep(for: $0) })

    /// Seconds since 1970-01-01 UTC.
    public func now() -> Double { currentSeconds() }

    /// Whole seconds since 1970-01-01 UTC, as stored.
    public func nowSeconds() -> Int64 { Int64(currentSeconds()) }

    /// Suspends for `duration`.
    /// - Throws: `CancellationError` when the calling task is cancelled.
    public func sleep(for duration: Duration) async throws { try await sleeper(duration) }

    /// `2026-11-30T15:42:10Z`: a time (seconds since 1970-01-01) as ISO 8601 in UTC, for messages and JSON.
    public static func iso8601(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }

    /// The same time, with another way to sleep (tests record retry delays instead of waiting them out).
    public func sleeping(_ sleep: @escaping @Sendable (Duration) async throws -> Void) -> FerryClock {
        FerryClock(now: currentSeconds, sleep: sleep)
    }
}
