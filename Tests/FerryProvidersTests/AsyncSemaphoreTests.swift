import Foundation
import Testing

@testable import FerryProviders

@Suite struct AsyncSemaphoreTests {
    final class Gauge: @unchecked Sendable {
        private let lock = NSLock()
        private var current = 0
        private(set) var peak = 0
        func enter() {
            lock.withLock {
                current += 1; peak = max(peak, current)
            }
        }
        func leave() { lock.withLock { current -= 1 } }
        var maximum: Int { lock.withLock { peak } }
    }

    /// No more than the permitted number of bodies run at once, and all of them run.
    @Test func boundsConcurrency() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        let gauge = Gauge()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await semaphore.withPermit {
                        gauge.enter()
                        try await Task.sleep(for: .milliseconds(2))
                        gauge.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(gauge.maximum == 3)
    }

    /// A cancelled waiter leaves the queue and does not consume a permit.
    @Test func cancelledWaiterLeaves() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let waiter = Task { try await semaphore.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        semaphore.release()
        // The permit is free again.
        try await semaphore.withPermit {}
    }
}
