import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// Invariant 9: a run whose state has no record of files that look like Ferry's uploads of declared placements never
/// uploads them again silently; `ferry import` adopts them.
@Suite("Lost state: refusal and import", .serialized)
struct LostStateTests {
    /// Two files on OpenAI and Azure applied with a first state on `backend`; the files the providers hold then.
    static func applied(_ workspace: Workspace, on backend: StateBackend = .sqlite) async throws
        -> (openAI: [String], azure: [String])
    {
        workspace.declare("handbook")
        workspace.declare("faq", models: ["gpt-4o-mini"])
        let first = try await workspace.engine(store: try backend.makeStore().store).reconcilePass()
        #expect(first.report.outcome == .converged)
        return (workspace.openAIFiles.map(\.id).sorted(), workspace.azureFiles.map(\.id).sorted())
    }

    /// A fresh state over files Ferry uploaded: the plan has no create, is refused with one line per endpoint naming
    /// the way out, and a reconcile pass uploads nothing.
    @Test(arguments: StateBackend.all)
    func freshStateRefusesToUploadAgain(backend: StateBackend) async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let before = try await Self.applied(workspace, on: backend)
        let fresh = try workspace.engine(store: try backend.makeStore().store)

        let plan = try await fresh.planPass().plan
        #expect(!plan.actions.contains { $0.kind == .create })
        #expect(plan.untracked?.count == 3)
        #expect(plan.blocked.count == 2)
        #expect(plan.blocked.allSatisfy { $0.contains("'ferry import'") && $0.contains("--allow-duplicates") })
        #expect(plan.blocked.contains { $0.hasPrefix("openai ") && $0.contains("2 file(s)") })
        #expect(plan.summaryLine.hasPrefix("Nothing uploaded: 3 of 3 placements"))

        let pass = try await fresh.reconcilePass()
        #expect(pass.report.outcome == .refused)
        #expect(workspace.openAIFiles.map(\.id).sorted() == before.openAI)
        #expect(workspace.azureFiles.map(\.id).sorted() == before.azure)
    }

    /// Import adopts exactly the original files (content verified by SHA-256), and the next plan has no changes.
    @Test(arguments: StateBackend.all)
    func importAdoptsTheOriginals(backend: StateBackend) async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let before = try await Self.applied(workspace, on: backend)
        let fresh = try workspace.engine(store: try backend.makeStore().store)

        let result = try await fresh.importPass()

        #expect(result.plan.mode == .import)
        #expect(result.plan.actions.count == 3)
        #expect(result.plan.actions.allSatisfy { $0.kind == .import && $0.reason == .contentMatch })
        #expect(result.report?.applied.count == 3)
        let after = try await fresh.planPass().plan
        #expect(after.isEmpty)
        #expect(after.blocked.isEmpty)
        #expect(after.summaryLine == "No changes. 3 placements in sync.")
        #expect(workspace.openAIFiles.map(\.id).sorted() == before.openAI)
        #expect(workspace.azureFiles.map(\.id).sorted() == before.azure)
        let owned = try fresh.store.ownedFiles().map(\.remoteID).sorted()
        #expect(owned == (before.openAI + before.azure).sorted())
    }

    /// A file with the declared name, size and purpose but other bytes is not Ferry's upload of this content: import
    /// leaves it alone and says so; the plan keeps refusing.
    @Test func importLeavesOtherContentAlone() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"], content: "# handbook\n\nversion A\n")
        let foreign = workspace.simulator.seedFile(
            apiKey: Workspace.openAIKey, filename: "handbook.md", purpose: "assistants",
            data: Array("# handbook\n\nversion B\n".utf8), createdAt: 1_700_000_000)
        let engine = try workspace.engine()

        let result = try await engine.importPass()

        #expect(result.plan.isEmpty)
        #expect(result.plan.summaryLine == "Nothing to import.")
        #expect(result.plan.warnings.contains { $0.contains(foreign.id) && $0.contains("left alone") })
        #expect(try engine.store.ownedFiles().isEmpty)
        #expect(!(try await engine.planPass().plan.blocked.isEmpty))
        #expect(workspace.openAIFiles.map(\.id) == [foreign.id])
    }

    /// Where the provider will not serve a file's content, import matches on name, size and purpose and marks the
    /// action as the weaker match.
    @Test func unreadableContentIsAWeakerMatch() async throws {
        let workspace = try await Workspace(faults: FaultPlan(failNext: ["content": [400, 400, 400, 400]]))
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        let seeded = workspace.simulator.seedFile(
            apiKey: Workspace.openAIKey, filename: "handbook.md", purpose: "assistants",
            data: Array("# handbook\n\nSome content for handbook.\n".utf8), createdAt: 1_700_000_000)
        let engine = try workspace.engine()

        let plan = try await engine.importPass(confirm: { _ in .declined(reason: "review only") }).plan

        #expect(plan.actions.map(\.remoteID) == [seeded.id])
        #expect(plan.actions.first?.reason == .nameMatch)
        #expect(plan.renderText().contains("a weaker match"))
        #expect(plan.summaryLine == "Import: 1 file(s) to adopt into the state (1 matched by name, size and purpose only).")
        #expect(try engine.store.ownedFiles().isEmpty)
    }

    /// `--allow-duplicates` uploads anyway: the refusal is a guard, not a dead end.
    @Test func allowDuplicatesUploadsAnyway() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        _ = try await Self.applied(workspace)
        let fresh = try workspace.engine(
            policy: PlanPolicy(allowDuplicates: true),
            statePath: workspace.root.appendingPathComponent("runner-2.sqlite").path)

        let pass = try await fresh.reconcilePass()

        #expect(pass.report.outcome == .converged)
        #expect(workspace.openAIFiles.count == 4)
        #expect(workspace.azureFiles.count == 2)
    }

    /// The CLI end to end: a new runner's apply exits 1 with the way out; `import -out` then `apply FILE` adopts;
    /// the next plan exits 0 with no changes and the providers hold only the originals.
    @Test func cliLostStateThenImport() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        let first = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(first.status == 0, "\(first.stderr)")
        let originals = workspace.openAIFiles.map(\.id)
        let lost = workspace.root.appendingPathComponent("lost.sqlite").path
        let planFile = workspace.root.appendingPathComponent("import.plan").path

        let refused = try await FerryProcess.run(["apply", "--auto-approve", "--state", lost], in: workspace)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("Refusing: openai "))
        #expect(refused.stdout.contains("adopt them with 'ferry import'"))
        #expect(workspace.openAIFiles.map(\.id) == originals)

        let saved = try await FerryProcess.run(["import", "-out", planFile, "--state", lost], in: workspace)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains("= import \(originals[0]) for handbook (same content: SHA-256 verified)"))
        let imported = try await FerryProcess.run(["apply", planFile, "--state", lost], in: workspace)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("Import complete: 2 file(s) adopted."))

        let after = try await FerryProcess.run(["plan", "--detailed-exitcode", "--state", lost], in: workspace)
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        #expect(after.stdout.contains("No changes. 2 placements in sync."))
        #expect(workspace.openAIFiles.map(\.id) == originals)
    }
}
