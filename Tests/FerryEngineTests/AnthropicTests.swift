import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import Foundation
import Testing

/// Adds `claude` (an anthropic/ model) to a workspace, pointed at the simulator's `/anthropic` prefix.
func addAnthropicModel(to workspace: Workspace) {
    workspace.extraEnvironment["ANTHROPIC_API_KEY"] = Workspace.anthropicKey
    workspace.extraEnvironment["ANTHROPIC_API_BASE"] = workspace.simulator.anthropicBaseURL
    workspace.write(
        "manifests/anthropic.yaml",
        """
        model_list:
          - model_name: claude
            litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_key: os.environ/ANTHROPIC_API_KEY}
        """)
}

extension Workspace {
    static let anthropicKey = "sk-ant-test-key-0123456789"
    var anthropicFiles: [SimulatedFile] { simulator.files(apiKey: Self.anthropicKey, flavor: .anthropic) }
}

@Suite("Anthropic end to end")
struct AnthropicTests {
    /// Create, no-op, replace (create before delete, same unified id), prune; someone else's file is left alone.
    @Test func lifecycle() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addAnthropicModel(to: workspace)
        let theirs = workspace.simulator.seedFile(
            apiKey: Workspace.anthropicKey, flavor: .anthropic, filename: "handbook.md", purpose: "", data: [1, 2],
            createdAt: 1_700_000_000)
        workspace.declare("handbook", models: ["claude", "gpt-4o-mini"])
        workspace.declare("faq", models: ["claude"])

        #expect(try await workspace.reconcile().outcome == .converged)
        let first = workspace.anthropicFiles.filter { $0.id != theirs.id }
        #expect(first.map(\.filename).sorted() == ["faq.md", "handbook.md"])
        #expect(first.allSatisfy { $0.purpose == "" && $0.id.hasPrefix("file_") })
        #expect(workspace.openAIFiles.count == 1)
        #expect(try await workspace.plan().isEmpty)
        let unified = try workspace.engine().store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID)

        workspace.declare("handbook", models: ["claude", "gpt-4o-mini"], content: "revised\n")
        let replaced = try await workspace.plan()
        #expect(replaced.actions.filter { $0.kind == .replace }.count == 2)
        #expect(try await workspace.reconcile().outcome == .converged)
        let second = workspace.anthropicFiles.filter { $0.id != theirs.id }
        #expect(second.count == 2)
        #expect(Set(second.map(\.id)).intersection(first.map(\.id)).count == 1)
        #expect(second.first { $0.filename == "handbook.md" }?.sha256 == SHA256Digest.hex("revised\n"))
        #expect(try workspace.engine().store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID) == unified)

        workspace.remove("manifests/faq.yaml")
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.anthropicFiles.map(\.filename).sorted() == ["handbook.md", "handbook.md"])
        #expect(workspace.anthropicFiles.contains { $0.id == theirs.id })
        #expect(try await workspace.plan().isEmpty)
    }

    /// A changed purpose re-uploads nothing on Anthropic (which keeps none) but replaces on OpenAI.
    @Test func purposeChangeOnlyMattersWhereKept() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addAnthropicModel(to: workspace)
        workspace.declare("handbook", models: ["claude", "gpt-4o-mini"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let yaml = try String(contentsOf: workspace.root.appendingPathComponent("manifests/handbook.yaml"), encoding: .utf8)
        workspace.write("manifests/handbook.yaml", yaml.replacingOccurrences(of: "purpose: assistants", with: "purpose: user_data"))
        let plan = try await workspace.plan()
        #expect(plan.actions.filter(\.kind.mutatesProvider).map(\.endpointID).allSatisfy { $0.hasPrefix("openai|") })
        #expect(plan.actions.contains { $0.kind == .replace })
    }

    /// Killed after Anthropic stored the upload and before Ferry recorded it, the next run adopts it: one file.
    @Test func crashAfterUploadIsAdopted() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addAnthropicModel(to: workspace)
        workspace.declare("handbook", models: ["claude"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(workspace.anthropicFiles.count == 1)
        #expect(try workspace.engine().store.intents().count == 1)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(workspace.anthropicFiles.count == 1)
        #expect(try workspace.engine().store.ownedFiles().map(\.remoteID) == workspace.anthropicFiles.map(\.id))
        #expect(try workspace.engine().store.intents().isEmpty)
        #expect(try await workspace.plan().isEmpty)
    }

    /// Killed mid-upload (slow provider), then run again: never two files for the placement.
    @Test func killedMidUploadLeavesOneFile() async throws {
        let workspace = try await Workspace(faults: FaultPlan(latencyMilliseconds: 400))
        defer { Task { await workspace.close() } }
        addAnthropicModel(to: workspace)
        workspace.declare("handbook", models: ["claude"])
        let simulator = workspace.simulator
        let killed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, killAfterMilliseconds: 200,
            killClockStarts: { simulator.stats().requests["POST /anthropic/v1/files"] ?? 0 > 0 })
        #expect(killed.signaled)
        // Killed after the write-ahead intent and during the create.
        #expect(try workspace.engine().store.intents().count == 1)
        workspace.simulator.setFaults(.none)
        // The interrupted create may still land after the kill; the next run must adopt it or upload once.
        try await Task.sleep(for: .milliseconds(500))
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(workspace.anthropicFiles.count == 1)
        #expect(try workspace.engine().store.ownedFiles().count == 1)
    }

    /// With the state lost, Ferry refuses to upload over its own earlier upload and `ferry import` adopts it.
    @Test func lostStateIsImported() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addAnthropicModel(to: workspace)
        workspace.declare("handbook", models: ["claude"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let lost = workspace.root.appendingPathComponent("state/lost.sqlite").path
        let refused = try await FerryProcess.run(["plan", "--state", lost], in: workspace)
        #expect(refused.status != 0 || refused.stdout.contains("ferry import"), "\(refused.stdout)\(refused.stderr)")
        let imported = try await FerryProcess.run(["import", "--auto-approve", "--state", lost], in: workspace)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        let reconciled = try await FerryProcess.run(["reconcile", "--state", lost], in: workspace)
        #expect(reconciled.status == 0, "\(reconciled.stderr)")
        #expect(workspace.anthropicFiles.count == 1)
    }
}
