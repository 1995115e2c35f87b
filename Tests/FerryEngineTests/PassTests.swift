import FerryCore
import FerryEngine
import FerryStore
import FerryTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// A clock that never sleeps for real: each sleep records its duration, moves time forward and yields.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double
    private var slept: [Duration] = []

    init(start: Double = 1_700_000_000) { seconds = start }

    var sleeps: [Duration] { lock.withLock { slept } }

    var clock: FerryClock {
        FerryClock(
            now: { [self] in lock.withLock { seconds } },
            sleep: { [self] duration in
                try Task.checkCancellation()
                lock.withLock {
                    slept.append(duration)
                    seconds += Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                }
                await Task.yield()
            })
    }
}

@Suite("Whole passes in the engine", .serialized)
struct PassTests {
    /// A reconcile pass takes the lease, records a run with its outcome and summary, and frees the lease.
    @Test func reconcilePassRecordsItsRun() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let engine = try workspace.engine()

        let result = try await engine.reconcilePass()

        #expect(result.report.outcome == .converged)
        #expect(result.summary.hasPrefix("Converged in "))
        let run = try #require(try engine.store.recentRuns(limit: 1).first)
        #expect(run.command == "reconcile")
        #expect(run.outcome == "converged")
        #expect(run.summary == result.summary)
        #expect(run.finishedAt != nil)
        #expect(try engine.store.leaseHolder() == nil)
    }

    /// A pass that throws half way still finishes its run row (as failed, with the error) and frees the lease.
    @Test func failingPassFinishesItsRun() async throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "the terminal went away" } }
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let engine = try workspace.engine()

        await #expect(throws: Boom.self) {
            _ = try await engine.applyPass(present: { _ in throw Boom() })
        }

        let run = try #require(try engine.store.recentRuns(limit: 1).first)
        #expect(run.command == "apply")
        #expect(run.outcome == "failed")
        #expect(run.summary == "the terminal went away")
        #expect(run.finishedAt != nil)
        #expect(try engine.store.leaseHolder() == nil)
        #expect(workspace.openAIFiles.isEmpty)
    }

    /// A cancelled pass is recorded as cancelled, not left unfinished.
    @Test func cancelledPassIsRecorded() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let engine = try workspace.engine()

        await #expect(throws: CancellationError.self) {
            _ = try await engine.applyPass(present: { _ in throw CancellationError() })
        }
        let run = try #require(try engine.store.recentRuns(limit: 1).first)
        #expect(run.finishedAt != nil)
        #expect(run.outcome == "cancelled")
        #expect(try engine.store.leaseHolder() == nil)
    }

    /// An apply that is declined changes nothing and records why.
    @Test func declinedApplyChangesNothing() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let engine = try workspace.engine()

        let result = try await engine.applyPass(confirm: { _ in .declined(reason: "not confirmed") })

        #expect(result.declined == "not confirmed")
        #expect(result.report == nil)
        #expect(workspace.openAIFiles.isEmpty)
        let run = try #require(try engine.store.recentRuns(limit: 1).first)
        #expect(run.outcome == "refused")
        #expect(run.summary == "not confirmed")
    }

    /// While another holder has the lease, an apply pass fails with `.lockHeld` before it records a run.
    @Test func heldLeaseRefusesWithACode() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let engine = try workspace.engine()
        let other = try await WriterLease.acquire(store: engine.store)
        defer { other.release() }

        do {
            _ = try await engine.applyPass()
            Issue.record("expected the lease to be refused")
        } catch let error as EngineError {
            #expect(error.code == .lockHeld)
            #expect(error.message.contains("another Ferry run holds the state lock"))
        }
        #expect(try engine.store.recentRuns(limit: 5).isEmpty)
    }

    /// The lease waits on the injected clock: a lock timeout passes without sleeping for real.
    @Test func leaseWaitsOnTheInjectedClock() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let store = try SQLiteStateStore(path: workspace.statePath)
        let other = try await WriterLease.acquire(store: store)
        defer { other.release() }
        let manual = ManualClock()

        await #expect(throws: EngineError.self) {
            _ = try await WriterLease.acquire(store: store, ttl: 3600, wait: 5, clock: manual.clock)
        }
        // 250 ms polls until 5 s of manual time have passed.
        #expect(manual.sleeps.count == 20)
    }
}

@Suite("Reconcile service")
struct ReconcileServiceTests {
    /// The wait doubles after each failed pass, up to 8 intervals, and resets after a success; jitter scales it.
    @Test func backoffDoublesAndResets() {
        let interval = Duration.seconds(60)
        #expect(ReconcileService.delay(interval: interval, failures: 0, jitter: 1) == .seconds(60))
        #expect(ReconcileService.delay(interval: interval, failures: 1, jitter: 1) == .seconds(120))
        #expect(ReconcileService.delay(interval: interval, failures: 3, jitter: 1) == .seconds(480))
        #expect(ReconcileService.delay(interval: interval, failures: 9, jitter: 1) == .seconds(480))
        #expect(ReconcileService.delay(interval: interval, failures: 0, jitter: 0.5) == .seconds(30))
    }

    /// Under a service group on a manual clock: passes run back to back with the backoff between them, and a
    /// graceful shutdown ends the loop after the pass in progress, never during it.
    @Test func loopsUntilGracefulShutdown() async throws {
        let manual = ManualClock()
        // fail, fail, stand by (no backoff), succeed, then shut down during the fifth pass.
        let outcomes: [ReconcileService.PassResult] = [.failed, .failed, .standby, .succeeded, .succeeded]
        let passes = PassCounter()
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let service = ReconcileService(
            interval: .seconds(10), clock: manual.clock, random: { 1 },
            pass: {
                let number = passes.next()
                if number == 5 {
                    continuation.yield()
                    // The shutdown arrives while this pass runs (wait for it, however loaded the machine); the pass
                    // must still complete, and no wait or further pass may follow.
                    try? await gracefulShutdown()
                    passes.finish(number)
                    return .succeeded
                }
                passes.finish(number)
                return outcomes[number - 1]
            })
        let host = ServiceHost(service)
        for await _ in stream { break }
        try await host.stop()

        #expect(passes.started == 5)
        #expect(passes.finished == [1, 2, 3, 4, 5])
        #expect(manual.sleeps == [.seconds(20), .seconds(40), .seconds(10), .seconds(10)])
    }
}

/// Counts passes from a `@Sendable` closure.
final class PassCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var done: [Int] = []

    func next() -> Int { lock.withLock { count += 1; return count } }
    func finish(_ number: Int) { lock.withLock { done.append(number) } }
    var started: Int { lock.withLock { count } }
    var finished: [Int] { lock.withLock { done } }
}
