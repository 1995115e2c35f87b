import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// Adds `flash` (a gemini/ model) to a workspace, pointed at the simulator's `/gemini` prefix.
func addGeminiModel(to workspace: Workspace) {
    workspace.extraEnvironment["GEMINI_API_KEY"] = Workspace.geminiKey
    workspace.extraEnvironment["GEMINI_API_BASE"] = workspace.simulator.geminiBaseURL
    workspace.write(
        "manifests/gemini.yaml",
        """
        model_list:
          - model_name: flash
            litellm_params: {model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY}
        """)
}

extension Workspace {
    static let geminiKey = "gm-test-key-0123456789abcdef"
    /// Gemini files as Ferry names them (`files/<id>`).
    var geminiFiles: [SimulatedFile] {
        simulator.files(apiKey: Self.geminiKey, flavor: .gemini).map { file in
            var named = file
            named.id = "files/" + file.id
            return named
        }
    }
}

/// Sleeps until the wall clock (which the simulator's times and the planner's `now` follow) passes `unixSeconds`.
func sleepUntil(unixSeconds: Double) async throws {
    let remaining = unixSeconds - Date().timeIntervalSince1970
    if remaining > 0 { try await Task.sleep(for: .milliseconds(Int64(remaining * 1000))) }
}

@Suite("Gemini end to end")
struct GeminiTests {
    /// Create, no-op, replace (create before delete, same unified id), prune; someone else's file is left alone.
    @Test(arguments: StateBackend.all) func lifecycle(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        let theirs = workspace.simulator.seedFile(
            apiKey: Workspace.geminiKey, flavor: .gemini, filename: "handbook.md", purpose: "", data: [1, 2],
            createdAt: Int64(Date().timeIntervalSince1970) - 3600)
        workspace.declare("handbook", models: ["flash", "gpt-4o-mini"])
        workspace.declare("faq", models: ["flash"])

        #expect(try await workspace.reconcile().outcome == .converged)
        let first = workspace.geminiFiles.filter { $0.id != "files/" + theirs.id }
        #expect(first.map(\.filename).sorted() == ["faq.md", "handbook.md"])
        #expect(first.allSatisfy { $0.purpose == "" && $0.expiresAt != nil })
        #expect(workspace.openAIFiles.count == 1)
        #expect(try await workspace.plan().isEmpty)
        let store = try workspace.engine().store
        let unified = try store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID)
        // The listing's expiry reaches the state and the status view's placement records.
        let records = try store.placementRecords(file: "faq")
        #expect(records.first?.expiresAt == first.first { $0.filename == "faq.md" }?.expiresAt)

        workspace.declare("handbook", models: ["flash", "gpt-4o-mini"], content: "revised\n")
        let replaced = try await workspace.plan()
        #expect(replaced.actions.filter { $0.kind == .replace }.count == 2)
        #expect(try await workspace.reconcile().outcome == .converged)
        let second = workspace.geminiFiles.filter { $0.id != "files/" + theirs.id }
        #expect(second.count == 2)
        #expect(Set(second.map(\.id)).intersection(first.map(\.id)).count == 1)
        #expect(second.first { $0.filename == "handbook.md" }?.sha256 == SHA256Digest.hex("revised\n"))
        #expect(try workspace.engine().store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID) == unified)

        workspace.remove("manifests/faq.yaml")
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.geminiFiles.map(\.filename).sorted() == ["handbook.md", "handbook.md"])
        #expect(workspace.geminiFiles.contains { $0.id == "files/" + theirs.id })
        #expect(try await workspace.plan().isEmpty)
    }

    /// Expiry refresh: with a short simulator lifetime and a margin that reaches it, a pass uploads a fresh copy
    /// before the old one lapses and deletes the old one; the unified id stays, the status view shows the new
    /// expiry, and the next plan is empty.
    @Test(arguments: StateBackend.all) func refreshBeforeExpiry(_ backend: StateBackend) async throws {
        // Copies live 20 s and are refreshed within 12 s of expiry: 8 s for a pass to see a new copy as current.
        let workspace = try await Workspace(backend: backend) { $0.geminiFileLifetime = .seconds(20) }
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        workspace.declare("handbook", models: ["flash"])
        let policy = PlanPolicy(refreshBeforeExpirySeconds: 12)

        #expect(try await workspace.reconcile(policy: policy).outcome == .converged)
        let original = try #require(workspace.geminiFiles.first)
        #expect(try await workspace.plan(policy: policy).isEmpty)
        let store = try workspace.engine().store
        let unified = try store.ownedFiles().map(\.unifiedID)
        #expect(try store.placementRecords(file: "handbook").first?.expiresAt == original.expiresAt)

        // Within the margin now (the copy lapses in under twelve seconds): a replace, create first.
        try await sleepUntil(unixSeconds: Double(try #require(original.expiresAt)) - 12 + 0.5)
        let plan = try await workspace.plan(policy: policy)
        #expect(plan.actions.map(\.kind) == [.replace])
        #expect(plan.actions.first?.reason == .expiring)
        #expect(plan.actions.first?.replaces == [original.id])
        #expect(plan.renderText().contains("within the refresh margin"))

        #expect(try await workspace.reconcile(policy: policy).outcome == .converged)
        let fresh = try #require(workspace.geminiFiles.first)
        #expect(workspace.geminiFiles.count == 1)
        #expect(fresh.id != original.id)
        #expect((fresh.expiresAt ?? 0) > (original.expiresAt ?? .max))
        #expect(try store.ownedFiles().map(\.unifiedID) == unified)
        #expect(try store.ownedFiles().map(\.remoteID) == [fresh.id])
        #expect(try store.placementRecords(file: "handbook").first?.expiresAt == fresh.expiresAt)
        #expect(try await workspace.plan(policy: policy).isEmpty)
    }

    /// A file Gemini reports FAILED is reported with its reason and never counted as converged.
    @Test func failedFileIsReported() async throws {
        let workspace = try await Workspace { $0.processingDelay = .milliseconds(300) }
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        workspace.declare("handbook", models: ["flash"])
        _ = try await workspace.reconcile()
        let file = try #require(workspace.geminiFiles.first)
        #expect(workspace.simulator.failGeminiFile(apiKey: Workspace.geminiKey, id: file.id, message: "cannot parse"))
        try await Task.sleep(for: .milliseconds(400))
        let plan = try await workspace.plan()
        #expect(plan.actions.first?.reason == .failedRemotely)
        #expect(plan.placements.first?.detail == "the provider reports the current file as failed")
        let observed = try workspace.engine().store.observations().values.flatMap { $0.files ?? [] }
        #expect(observed.contains { $0.id == file.id && $0.status == .error && $0.statusDetails == "cannot parse" })
    }

    /// Killed after Gemini stored the upload and before Ferry recorded it, the next run adopts it: one file.
    @Test func crashAfterUploadIsAdopted() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        workspace.declare("handbook", models: ["flash"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(workspace.geminiFiles.count == 1)
        #expect(try workspace.engine().store.intents().count == 1)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(workspace.geminiFiles.count == 1)
        #expect(try workspace.engine().store.ownedFiles().map(\.remoteID) == workspace.geminiFiles.map(\.id))
        #expect(try workspace.engine().store.intents().isEmpty)
        #expect(try await workspace.plan().isEmpty)
    }

    /// With the state lost, Ferry refuses to upload over its own earlier upload, and `ferry import` adopts it as
    /// a content match (Gemini's sha256Hash proves the content).
    @Test func lostStateIsImportedByContent() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        workspace.declare("handbook", models: ["flash"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let lost = workspace.root.appendingPathComponent("state/lost.sqlite").path
        let refused = try await FerryProcess.run(["plan", "--state", lost], in: workspace)
        #expect(refused.stdout.contains("ferry import") || refused.stderr.contains("ferry import"))
        let imported = try await FerryProcess.run(["import", "--auto-approve", "--state", lost], in: workspace)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("SHA-256 verified"), "\(imported.stdout)")
        let reconciled = try await FerryProcess.run(["reconcile", "--state", lost], in: workspace)
        #expect(reconciled.status == 0, "\(reconciled.stderr)")
        #expect(workspace.geminiFiles.count == 1)
    }

    /// `--refresh-before-expiry` is validated: a margin not shorter than Gemini's 48 hours is refused with a
    /// clear message and changes nothing.
    @Test func marginFlagIsValidated() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addGeminiModel(to: workspace)
        workspace.declare("handbook", models: ["flash"])
        let refused = try await FerryProcess.run(["plan", "--refresh-before-expiry", "2d"], in: workspace)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--refresh-before-expiry 2d: 2d is not shorter than the 2d a gemini file lives"))
        let garbage = try await FerryProcess.run(["apply", "--auto-approve", "--refresh-before-expiry", "soon"], in: workspace)
        #expect(garbage.status != 0)
        #expect(garbage.stderr.contains("is not a duration"))
        #expect(workspace.geminiFiles.isEmpty)
        let accepted = try await FerryProcess.run(
            ["apply", "--auto-approve", "--refresh-before-expiry", "90m"], in: workspace)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(workspace.geminiFiles.count == 1)
    }

    /// OpenAI files may declare expiresAfter: sent on create, recorded as expires_at (state and status view), a
    /// changed expiresAfter alone re-uploads nothing, and a copy within the margin is replaced like Gemini's.
    @Test(arguments: StateBackend.all) func openAIExpiresAfter(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("batch", models: ["gpt-4o-mini"])
        let path = "manifests/batch.yaml"
        let yaml = try String(contentsOf: workspace.root.appendingPathComponent(path), encoding: .utf8)
        workspace.write(path, yaml.replacingOccurrences(of: "  deletionPolicy:", with: "  expiresAfter: 1d\n  deletionPolicy:"))

        #expect(try await workspace.reconcile().outcome == .converged)
        let file = try #require(workspace.openAIFiles.first)
        #expect(file.expiresAt == file.createdAt + 86_400)
        let store = try workspace.engine().store
        #expect(try store.placementRecords(file: "batch").first?.expiresAt == file.expiresAt)

        workspace.write(path, yaml.replacingOccurrences(of: "  deletionPolicy:", with: "  expiresAfter: 7d\n  deletionPolicy:"))
        #expect(try await workspace.plan().isEmpty)

        // A margin just under the copy's lifetime: once five seconds have passed, it is refreshed.
        try await sleepUntil(unixSeconds: Double(file.createdAt) + 5.5)
        let policy = PlanPolicy(refreshBeforeExpirySeconds: 86_395)
        #expect(try await workspace.plan(policy: policy).actions.map(\.reason) == [.expiring])
        #expect(try await workspace.reconcile(policy: policy).outcome == .converged)
        let fresh = try #require(workspace.openAIFiles.first)
        #expect(workspace.openAIFiles.count == 1 && fresh.id != file.id)
        // The fresh copy carries the manifest's current expiresAfter.
        #expect(fresh.expiresAt == fresh.createdAt + 7 * 86_400)
    }
}
