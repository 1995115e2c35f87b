import FerryCore
import Logging
import ServiceLifecycle

/// `reconcile --interval`: runs a pass, waits, runs the next, until a graceful shutdown (SIGTERM/SIGINT through
/// the `ServiceGroup`). A pass in progress is never cut: shutdown ends the wait between passes, so the last pass
/// finishes (or reaches a safe point) first.
///
/// After a failed pass the wait doubles (up to 8 intervals) so a broken provider is not hammered; a random
/// ±10 % jitter keeps many reconcilers from passing in step. A replica that finds the state lock held stands by
/// and tries again after one interval, so it takes over promptly when the holder goes away.
public struct ReconcileService: Service {
    /// How one pass ended, as far as the loop cares.
    public enum PassResult: Sendable, Equatable {
        /// Converged: wait one interval.
        case succeeded
        /// Did not converge or failed: back off.
        case failed
        /// Another replica holds the state lock and is doing the work: wait one interval, no backoff, and try
        /// again (this replica takes over when the holder stops renewing, or dies on this host).
        case standby
        /// Did not converge, but every placement left waits out its own backoff (`PlacementBackoff`): no
        /// pass-level backoff, so one failing placement does not slow the loop for the others; the wait ends early
        /// when a placement's retry is due sooner.
        case backingOff
    }

    /// One whole pass.
    public typealias Pass = @Sendable () async -> PassResult

    let interval: Duration
    let clock: FerryClock
    let logger: Logger
    let pass: Pass
    let prepare: @Sendable () async throws -> Void
    let random: @Sendable () -> Double
    let willWait: @Sendable (Duration) -> Void
    let nextRetryAt: @Sendable () -> Double?

    /// - Parameters:
    ///   - interval: the wait after a successful pass.
    ///   - clock: sleeps between passes (a manual clock in tests).
    ///   - random: a jitter factor for each wait, within 0.9...1.1 (injected for tests).
    ///   - willWait: told each wait before it starts (the CLI prints "Next pass in …").
    ///   - prepare: awaited once before the first pass (the CLI waits for the status view to listen).
    ///   - nextRetryAt: when the earliest placement in backoff may be tried again (Unix seconds), if any.
    ///   - pass: one whole pass.
    public init(
        interval: Duration, clock: FerryClock = .system, logger: Logger = Logger(label: "ferry.reconcile"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0.9...1.1) },
        willWait: @escaping @Sendable (Duration) -> Void = { _ in },
        prepare: @escaping @Sendable () async throws -> Void = {},
        nextRetryAt: @escaping @Sendable () -> Double? = { nil }, pass: @escaping Pass
    ) {
        self.nextRetryAt = nextRetryAt
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.random = random
        self.willWait = willWait
        self.pass = pass
        self.prepare = prepare
    }

    /// The wait before the next pass after `failures` failed passes in a row: the interval, doubled per failure
    /// up to 8 times the interval, times the jitter factor.
    public static func delay(interval: Duration, failures: Int, jitter: Double) -> Duration {
        interval * (Double(1 << min(max(failures, 0), 3)) * jitter)
    }

    /// - Throws: what `prepare` throws; a pass itself never throws (it reports failure).
    public func run() async throws {
        try await prepare()
        var failures = 0
        var passes = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let result = await pass()
            passes += 1
            failures = result == .failed ? failures + 1 : 0
            var delay = Self.delay(interval: interval, failures: failures, jitter: random())
            if result == .backingOff, let due = nextRetryAt() {
                // Wake up for the earliest placement retry when it comes before the interval (not sooner than 1 s).
                delay = min(delay, .milliseconds(Int64(max(1, due - clock.now()) * 1000)))
            }
            let wait = delay
            logger.debug(
                "pass finished",
                metadata: [
                    "ferry.pass": .stringConvertible(passes), "ferry.result": .string("\(result)"),
                    "ferry.next_in": .string("\(wait)"),
                ])
            if Task.isShuttingDownGracefully { break }
            willWait(wait)
            do {
                try await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(for: wait) }
            } catch {
                break  // shut down (or cancelled) while waiting
            }
        }
        logger.info("reconcile loop stopped", metadata: ["ferry.passes": .stringConvertible(passes)])
    }
}
