import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// Faults of the PostgreSQL state server itself, on a private server (a restart would disturb the shared one).
@Suite("PostgreSQL server faults", .serialized)
struct DatabaseFaultTests {
    /// The state server restarts while `reconcile` uploads: that run may fail, and the next one converges with exactly
    /// one remote file per placement and no open intent.
    @Test(.enabled(if: StateBackend.all.contains(.postgres))) func serverRestartMidApplyConverges() async throws {
        let server = try PrivatePostgres()
        defer { server.stop() }
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        for index in 0..<8 { workspace.declare("doc\(index)", models: ["gpt-4o-mini", "azure-gpt-4o"]) }
        // 150 ms a request: 16 uploads, four at a time per endpoint, take well over a second.
        workspace.simulator.setFaults(FaultPlan(latencyMilliseconds: 150))
        let state = ["--state", server.url, "--workspace", "restart"]
        let clock = ContinuousClock()

        async let interrupted = FerryProcess.run(["reconcile", "--max-rounds", "1"] + state, in: workspace)
        try await Task.sleep(for: .milliseconds(400))
        try await onThread { try server.restart() }
        let restarted = clock.now
        let first = try await interrupted
        let firstEnded = clock.now
        #expect(restarted < firstEnded, "the restart came after the run it was meant to interrupt")

        workspace.simulator.setFaults(.none)
        var last = first
        for _ in 0..<3 where last.status != 0 {
            last = try await FerryProcess.run(["reconcile"] + state, in: workspace)
        }
        #expect(last.status == 0, "\(first.stderr.suffix(2000))\n=====\n\(last.stderr.suffix(2000))")
        #expect(workspace.openAIFiles.count == 8)
        #expect(workspace.azureFiles.count == 8)
        let store = try StateStores.open(server.url, workspace: "restart", readOnly: false)
        #expect(try store.ownedFiles().count == 16)
        #expect(try store.intents().isEmpty)
    }
}

/// Runs blocking work (a child process) on a thread of its own, off the cooperative pool the simulator serves from.
func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
