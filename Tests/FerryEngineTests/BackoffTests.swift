import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// Per-placement backoff in the reconcile loop, against the simulator over HTTP and a real SQLite state: a placement
/// that keeps failing is attempted again only when its backoff ends, while its endpoint is still listed each pass.
@Suite("Placement backoff", .serialized)
struct BackoffTests {
    /// An engine over the workspace sharing one backoff book and a manual clock, like the passes of one
    /// `reconcile --interval` process; provider clients record the waits they would sleep.
    final class Loop: @unchecked Sendable {
        let workspace: Workspace
        let manual: ManualClock
        let backoff: PlacementBackoff
        let providerSleeps = Recorder()

        init(_ workspace: Workspace, policy: BackoffPolicy = BackoffPolicy(base: .seconds(30), cap: .seconds(120))) {
            self.workspace = workspace
            manual = ManualClock(start: Date().timeIntervalSince1970)
            backoff = PlacementBackoff(policy: policy, random: { 0 })
        }

        func engine() throws -> Engine {
            var configuration = EngineConfiguration(
                root: workspace.root.appendingPathComponent("manifests").path, displayRoot: "manifests/",
                environment: workspace.environment)
            configuration.backoff = backoff
            let client = workspace.httpClient
            let environment = workspace.environment
            let sleeps = providerSleeps
            let providerClock = FerryClock.system.sleeping { sleeps.append($0) }
            return try Engine(
                configuration: configuration,
                store: try StateStores.open(workspace.stateLocation, workspace: workspace.stateWorkspace),
                makeProvider: { endpoint, secret in
                    try ProviderFactory.makeProvider(
                        endpoint: endpoint, apiKey: secret, httpClient: client,
                        configuration: ProviderClientConfiguration(clock: providerClock), environment: environment)
                }, clock: manual.clock)
        }

        /// One pass, as the loop runs it.
        func pass() async throws -> ReconcileReport {
            let engine = try engine()
            return try await engine.reconcile(try await engine.load())
        }

        func advance(_ seconds: Int) async throws { try await manual.clock.sleep(for: .seconds(seconds)) }

        var uploads: Int { workspace.simulator.stats().requests["POST /v1/files"] ?? 0 }
        var listings: Int { workspace.simulator.stats().requests["GET /v1/files"] ?? 0 }
    }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Duration] = []
        func append(_ value: Duration) { lock.withLock { values.append(value) } }
        var all: [Duration] { lock.withLock { values } }
    }

    /// Fails, waits 30 s (skipped but listed in between), fails again and waits 60 s; a content change resets it at
    /// once; once the provider accepts, the placement converges and leaves the book.
    @Test func failingPlacementBacksOffThenResets() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1], errorStatuses: [400]))
        let loop = Loop(workspace)
        let start = loop.manual.clock.now()

        let first = try await loop.pass()
        #expect(first.outcome == .notConverged)
        #expect(loop.uploads == 1)
        var retry = try #require(loop.backoff.snapshot().first)
        #expect(retry.failures == 1)
        #expect(retry.nextAttemptAt == start + 30)
        #expect(first.unconverged.first?.line.contains("retrying at \(retry.nextAttemptText)") == true)

        // 10 s later: listed again, not attempted; reported as waiting.
        try await loop.advance(10)
        let listingsBefore = loop.listings
        let second = try await loop.pass()
        #expect(loop.uploads == 1)
        #expect(loop.listings > listingsBefore)
        #expect(second.deferred.map(\.action.file) == ["doc"])
        let waiting = try #require(second.unconverged.first)
        #expect(waiting.cause == .backingOff)
        #expect(waiting.line.contains("skipped, retrying at \(retry.nextAttemptText) (1 failure; last: "))

        // Past the backoff: attempted once more, then 60 s.
        try await loop.advance(21)
        _ = try await loop.pass()
        #expect(loop.uploads == 2)
        retry = try #require(loop.backoff.snapshot().first)
        #expect(retry.failures == 2)
        #expect(retry.nextAttemptAt == loop.manual.clock.now() + 60)

        // New content: a new situation, attempted at once and counted from one again.
        workspace.declare("doc", models: ["gpt-4o-mini"], content: "# doc\n\nRevised.\n")
        _ = try await loop.pass()
        #expect(loop.uploads == 3)
        #expect(loop.backoff.snapshot().first?.failures == 1)

        // A changed declaration (purpose) resets it too.
        workspace.write(
            "manifests/doc.yaml",
            """
            kind: File
            metadata: {name: doc}
            spec: {source: docs/doc.md, purpose: user_data, targetModels: [gpt-4o-mini]}
            """)
        _ = try await loop.pass()
        #expect(loop.uploads == 4)

        // The provider recovers: nothing happens before the backoff ends, then it converges and leaves the book.
        workspace.simulator.setFaults(.none)
        _ = try await loop.pass()
        #expect(loop.uploads == 4)
        try await loop.advance(31)
        let healed = try await loop.pass()
        #expect(healed.outcome == .converged)
        #expect(loop.uploads == 5)
        #expect(loop.backoff.snapshot().isEmpty)
        #expect(workspace.openAIFiles.count == 1)
    }

    /// The wait doubles up to the cap and no further.
    @Test func backoffIsCapped() {
        let policy = BackoffPolicy(base: .seconds(30), cap: .seconds(3600))
        #expect((1...9).map { policy.seconds(afterFailures: $0) } == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        // Jitter stays within ±10 %.
        let book = PlacementBackoff(policy: policy)
        let action = PlannedAction(kind: .create, reason: .new, file: "f", endpointID: "e", digest: "d")
        for _ in 0..<50 {
            book.recordSuccess(action.placement)
            let retry = book.recordFailure(action, fingerprint: "x", message: "m", retryAfter: nil, now: 0)
            #expect((27.0...33.0).contains(retry.nextAttemptAt))
        }
    }

    /// A 429 and a 503 whose Retry-After is short are waited out in place, exactly as asked, and the upload succeeds
    /// in the same pass; one asking for longer than the client waits (60 s) ends the attempt at once and sets the placement's
    /// next attempt instead of the 30 s backoff.
    @Test func retryAfterIsHonoured() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        let loop = Loop(workspace)

        workspace.simulator.setFaults(FaultPlan(retryAfterSeconds: 7, failNext: ["create": [429, 503]]))
        let waited = try await loop.pass()
        #expect(waited.outcome == .converged)
        #expect(loop.uploads == 3)
        #expect(loop.providerSleeps.all == [.seconds(7), .seconds(7)])
        #expect(loop.backoff.snapshot().isEmpty)

        workspace.declare("other", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1], errorStatuses: [429], retryAfterSeconds: 600))
        let now = loop.manual.clock.now()
        let refused = try await loop.pass()
        #expect(refused.outcome == .notConverged)
        #expect(loop.uploads == 4, "a Retry-After beyond the client's patience is not waited in place")
        #expect(loop.providerSleeps.all == [.seconds(7), .seconds(7)])
        let retry = try #require(loop.backoff.snapshot().first)
        #expect(retry.file == "other")
        #expect(retry.providerAsked)
        #expect(retry.nextAttemptAt >= now + 599 && retry.nextAttemptAt <= now + 601)
        #expect(refused.unconverged.first?.line.contains("retrying at \(retry.nextAttemptText)") == true)

        try await loop.advance(300)
        _ = try await loop.pass()
        #expect(loop.uploads == 4)
    }
}
