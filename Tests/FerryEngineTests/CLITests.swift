import FerryCore
import FerryEngine
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// Most cases run on SQLite and, when a server is available, on PostgreSQL (`StateBackend.all`).
@Suite("The ferry executable", .serialized)
struct CLITests {
    /// Killed with SIGKILL right after an upload succeeded and before it was recorded, Ferry's next run
    /// adopts the upload instead of sending it again: exactly one remote file per placement.
    @Test(arguments: StateBackend.all) func crashAfterUploadIsAdopted(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])

        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(crashed.status == 9)
        #expect(workspace.openAIFiles.count == 1)
        let uploadsBefore = workspace.simulator.stats().requests["POST /v1/files"] ?? 0
        #expect(uploadsBefore == 1)

        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("Converged"))
        #expect(workspace.simulator.stats().requests["POST /v1/files"] == uploadsBefore)
        #expect(workspace.openAIFiles.count == 1)
        let engine = try workspace.engine()
        #expect(try engine.store.ownedFiles().map(\.remoteID) == workspace.openAIFiles.map(\.id))
        #expect(try engine.store.intents().isEmpty)
        #expect(try engine.store.integrityCheck() == "ok")
    }

    /// Killed after a delete succeeded but before it was recorded, the next run forgets the file and converges.
    @Test(arguments: StateBackend.all) func crashAfterDeleteConverges(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("a", models: ["gpt-4o-mini"])
        workspace.declare("b", models: ["gpt-4o-mini"])
        #expect(try await FerryProcess.run(["reconcile"], in: workspace).status == 0)
        workspace.remove("manifests/b.yaml")
        let crashed = try await FerryProcess.run(
            ["reconcile"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-delete"])
        #expect(crashed.signaled)
        #expect(workspace.openAIFiles.map(\.filename) == ["a.md"])
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try workspace.engine().store.ownedFiles().map(\.file) == ["a"])
    }

    /// Two reconciles started together (overlapping cron jobs) never upload twice.
    @Test(arguments: StateBackend.all) func overlappingReconcilesDoNotDoubleUpload(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        for index in 0..<5 { workspace.declare("doc\(index)", models: ["gpt-4o-mini"]) }
        workspace.simulator.setFaults(FaultPlan(latencyMilliseconds: 50))
        async let one = FerryProcess.run(["reconcile", "--lock-timeout", "30"], in: workspace)
        async let two = FerryProcess.run(["reconcile", "--lock-timeout", "30"], in: workspace)
        let results = try await [one, two]
        #expect(results.map(\.status) == [0, 0], "\(results.map(\.stderr).joined(separator: "\n=====\n"))")
        #expect(workspace.openAIFiles.count == 5)
        #expect(workspace.simulator.stats().requests["POST /v1/files"] == 5)
    }

    /// Without waiting, the second writer exits 1 naming the lock holder, and changes nothing.
    @Test(arguments: StateBackend.all) func lockedStateIsReported(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        let store = try workspace.engine().store
        #expect(try store.acquireLease(holder: "other-host pid 1", ttl: 600, now: Date().timeIntervalSince1970) == nil)
        let result = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("another Ferry run holds the state lock (other-host pid 1"))
        #expect(workspace.openAIFiles.isEmpty)
    }

    /// `validate` prints file:line:column diagnostics, exits 1, and neither the providers nor the state change.
    @Test func invalidManifestChangesNothing() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("good", models: ["gpt-4o-mini"])
        workspace.write(
            "manifests/bad.yaml",
            """
            kind: File
            metadata: {name: bad}
            spec: {source: docs/nope.md, purpose: assistants, targetModels: [gpt-4o-mini]}
            """)
        let validate = try await FerryProcess.run(["validate"], in: workspace)
        #expect(validate.status == 1)
        #expect(validate.stderr.contains("bad.yaml:3:16: error: source 'docs/nope.md' does not exist"))
        #expect(validate.stderr.contains("1 error found; nothing was changed."))
        let apply = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(apply.status == 1)
        #expect(workspace.simulator.stats().total == 0)
        #expect(try workspace.engine().store.ownedFiles().isEmpty)
    }

    /// `plan --detailed-exitcode` is 2 with changes and 0 without; `-o json` is the documented schema.
    @Test(arguments: StateBackend.all) func planExitCodesAndJSON(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini", "azure-gpt-4o"])
        let pending = try await FerryProcess.run(["plan", "--detailed-exitcode", "-o", "json"], in: workspace)
        #expect(pending.status == 2)
        let plan = try JSONDecoder().decode(Plan.self, from: Data(pending.stdout.utf8))
        #expect(plan.actions.map(\.kind) == [.create, .create])
        #expect(plan.formatVersion == 1)
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        let clean = try await FerryProcess.run(["plan", "--detailed-exitcode"], in: workspace)
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("No changes. 2 placements in sync."))
        let markdown = try await FerryProcess.run(["plan", "-o", "markdown"], in: workspace)
        #expect(markdown.stdout.hasPrefix("### Ferry plan\n\n**No changes. 2 placements in sync.**"))
    }

    /// A saved plan applies exactly; it is refused once manifests or provider state changed, and a
    /// truncated plan file is refused with a diagnostic before anything happens.
    @Test(arguments: StateBackend.all) func savedPlans(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        let planFile = workspace.root.appendingPathComponent("ferry.plan").path
        #expect(try await FerryProcess.run(["plan", "-out", planFile], in: workspace).status == 0)

        workspace.declare("doc", models: ["gpt-4o-mini"], content: "changed after planning\n")
        let stale = try await FerryProcess.run(["apply", planFile], in: workspace)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("changed since"))
        #expect(workspace.openAIFiles.isEmpty)

        #expect(try await FerryProcess.run(["plan", "-out", planFile], in: workspace).status == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: planFile))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: planFile + ".cut"))
        let truncated = try await FerryProcess.run(["apply", planFile + ".cut"], in: workspace)
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("the plan file is damaged or truncated"))
        #expect(workspace.simulator.stats().requests["POST /v1/files"] == nil)

        // Someone uploads through another path meanwhile: provider state is unchanged for our placements,
        // so the plan still applies; then a second apply of the same file is stale (nothing left to do).
        let applied = try await FerryProcess.run(["apply", planFile], in: workspace)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(workspace.openAIFiles.count == 1)
        let again = try await FerryProcess.run(["apply", planFile], in: workspace)
        #expect(again.status == 1)
        #expect(again.stderr.contains("what the providers hold changed since"))
    }

    /// Applying without --auto-approve and without a terminal refuses instead of hanging.
    @Test(arguments: StateBackend.all) func applyNeedsConfirmation(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        let result = try await FerryProcess.run(["apply"], in: workspace)
        #expect(result.status == 1)
        #expect(result.stderr.contains("pass --auto-approve"))
        #expect(workspace.openAIFiles.isEmpty)
    }

    /// The API keys never reach the state database, stdout or stderr (including debug logs).
    @Test func secretsStayOut() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc")
        let result = try await FerryProcess.run(["apply", "--auto-approve", "--log-level", "trace"], in: workspace)
        #expect(result.status == 0)
        for key in [Workspace.openAIKey, Workspace.azureKey] {
            #expect(!result.stdout.contains(key))
            #expect(!result.stderr.contains(key))
            for suffix in ["", "-wal"] {
                let path = workspace.statePath + suffix
                if let bytes = FileManager.default.contents(atPath: path) {
                    #expect(bytes.range(of: Data(key.utf8)) == nil, "key found in \(path)")
                }
            }
        }
    }

    /// The PostgreSQL connection dropped again and again while `reconcile` uploads: that run may fail, and the next
    /// one converges with exactly one remote file per placement and no open intent.
    @Test(.enabled(if: StateBackend.all.contains(.postgres))) func droppedDatabaseConnectionConverges() async throws {
        let workspace = try await Workspace(backend: .postgres)
        defer { Task { await workspace.close() } }
        for index in 0..<8 { workspace.declare("doc\(index)", models: ["gpt-4o-mini", "azure-gpt-4o"]) }
        workspace.simulator.setFaults(FaultPlan(latencyMilliseconds: 40))
        async let interrupted = FerryProcess.run(["reconcile", "--max-rounds", "1"], in: workspace)
        var dropped = 0
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(25))
            let ended = try PostgresTestServer.execute(
                """
                SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                WHERE application_name = 'ferry/\(workspace.stateWorkspace)'
                """)
            dropped += ended.count
        }
        let first = try await interrupted
        #expect(dropped > 0, "no connection was dropped")
        workspace.simulator.setFaults(.none)
        var last = first
        for _ in 0..<3 where last.status != 0 {
            last = try await FerryProcess.run(["reconcile"], in: workspace)
        }
        #expect(last.status == 0, "\(first.stderr)\n=====\n\(last.stderr)")
        #expect(workspace.openAIFiles.count == 8)
        #expect(workspace.azureFiles.count == 8)
        let store = try workspace.engine().store
        #expect(try store.ownedFiles().count == 16)
        #expect(try store.intents().isEmpty)
    }
}
