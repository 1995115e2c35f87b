import FerryEngine
import FerryTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// `ReconcileService` with placements waiting out their own backoff, on a manual clock.
@Suite("ReconcileService with placement backoff", .serialized)
struct ReconcileServiceBackoffTests {
    /// A pass left only with backing-off placements keeps the interval (no loop-wide doubling) and wakes up early
    /// when a placement's retry is due sooner (not sooner than 1 s); a failed pass still doubles.
    @Test func backingOffKeepsThePaceAndWakesForTheRetry() async throws {
        let manual = ManualClock()
        let start = manual.clock.now()
        // Retries due at +3 s (then past), +100 s.
        let dues: [Double?] = [start + 3, start + 3, start + 100, nil, nil]
        let outcomes: [ReconcileService.PassResult] = [.backingOff, .backingOff, .backingOff, .failed, .succeeded]
        let passes = PassCounter()
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let service = ReconcileService(
            interval: .seconds(10), clock: manual.clock, random: { 1 },
            nextRetryAt: { dues[max(passes.started - 1, 0)] },
            pass: {
                let number = passes.next()
                if number == 6 {
                    continuation.yield()
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
        // 3 s until the retry; then it is past: 1 s at least; then the interval beats +100 s; a failure doubles.
        #expect(manual.sleeps == [.seconds(3), .seconds(1), .seconds(10), .seconds(20), .seconds(10)])
    }
}
