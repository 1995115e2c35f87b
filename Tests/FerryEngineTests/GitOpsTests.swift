import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// The GitOps workflow issue, end to end through the `ferry` executable against the simulator.
@Suite("GitOps workflow", .serialized)
struct GitOpsTests {
    /// A repository not written for Ferry: an OpenAPI spec kept as a FileSet source, Kubernetes objects and a
    /// config sample beside the manifests, one manifest saved with a byte-order mark. `validate` lists what it
    /// skipped; `apply` uploads the YAML source like any other member; `--log-level info` names the skipped files.
    @Test func realRepositoryLayout() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.write(
            "manifests/api/openapi.yaml",
            "openapi: 3.1.0\ninfo: {title: Billing, version: '1.0'}\npaths:\n  /invoices:\n    get: {summary: List}\n")
        workspace.write("manifests/api/broken-sample.yaml", "paths: [unclosed\n")
        workspace.write(
            "manifests/api.yaml",
            """
            apiVersion: ferry.dev/v1alpha1
            kind: FileSet
            metadata: {name: api}
            spec: {sources: 'api/*.yaml', purpose: assistants, targetModels: [gpt-4o-mini]}
            """)
        workspace.write("manifests/deploy/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        workspace.write("manifests/.github/workflows/ci.yml", "on: push\njobs: {}\n")  // hidden folders are not read
        workspace.write("manifests/docs/handbook.md", "# Handbook\n")
        let bom = "\u{FEFF}kind: File\nmetadata: {name: handbook}\nspec: {source: docs/handbook.md, purpose: assistants, targetModels: [gpt-4o-mini]}\n"
        workspace.write("manifests/handbook.yaml", bom)

        let validate = try await FerryProcess.run(["validate"], in: workspace)
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("Valid: 3 file(s), 3 placement(s) on 1 endpoint(s)."))
        #expect(validate.stderr.contains("Skipped 3 YAML file(s) that are not manifests:"))
        #expect(validate.stderr.contains("manifests/api/openapi.yaml: a source of FileSet/api"))
        #expect(validate.stderr.contains("manifests/api/broken-sample.yaml: a source of FileSet/api"))
        #expect(validate.stderr.contains("manifests/deploy/configmap.yaml: no Ferry or LiteLLM document"))

        let apply = try await FerryProcess.run(["apply", "--auto-approve", "--log-level", "info"], in: workspace)
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stderr.contains("manifests/deploy/configmap.yaml: not a manifest (no Ferry or LiteLLM document)"))
        #expect(Set(workspace.openAIFiles.map(\.filename)) == ["openapi.yaml", "broken-sample.yaml", "handbook.md"])
    }

    /// A pull request from a fork has no keys: `validate --offline` passes with notes, touches no state and sends
    /// no request; without `--offline` the same run names each unset variable as an error; offline still fails
    /// on everything that is not a secret.
    @Test func offlineValidationNeedsNoSecrets() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc")
        let noKeys = ["OPENAI_API_KEY": "", "OPENAI_API_BASE": "", "AZURE_API_KEY": "", "AZURE_API_BASE": ""]
        let offline = try await FerryProcess.run(["validate", "--offline"], in: workspace, extraEnvironment: noKeys)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(offline.stdout.contains("Valid: 1 file(s), 2 placement(s) on 2 endpoint(s) (offline: credentials not checked)."))
        #expect(offline.stderr.contains("models.yaml:3:58: note: environment variable OPENAI_API_KEY is not set"))
        #expect(offline.stderr.contains("note: environment variable AZURE_API_BASE is not set"))
        #expect(!offline.stderr.contains("error"))
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath), "validate created the state")
        #expect(workspace.simulator.stats().total == 0)

        let online = try await FerryProcess.run(["validate"], in: workspace, extraEnvironment: noKeys)
        #expect(online.status == 1)
        #expect(online.stderr.contains("models.yaml:3:58: error: environment variable OPENAI_API_KEY is not set"))

        workspace.write("manifests/docs/doc.md", "")
        let empty = try await FerryProcess.run(["validate", "--offline"], in: workspace, extraEnvironment: noKeys)
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("error: source 'docs/doc.md' is empty"))
    }

    /// `plan --refresh=false` plans against the listings the last run stored: no provider request, nothing written
    /// to the state (its bytes are unchanged), the age of each listing printed; a file deleted out of band since is
    /// not seen (that is what refresh is for), and a state that never listed says so.
    @Test(arguments: StateBackend.all) func planWithoutRefresh(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("a", models: ["gpt-4o-mini"])
        let never = try await FerryProcess.run(["plan", "--refresh=false"], in: workspace)
        #expect(never.status == 1, "\(never.stdout)\(never.stderr)")
        #expect(workspace.simulator.stats().total == 0)
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        workspace.declare("b", models: ["gpt-4o-mini"])
        workspace.simulator.resetStats()
        let runsBefore = try workspace.engine().store.recentRuns(limit: 100).count  // (closed: WAL checkpointed)
        let before = backend == .sqlite ? FileManager.default.contents(atPath: workspace.statePath) : nil

        let plan = try await FerryProcess.run(["plan", "--refresh=false", "--detailed-exitcode", "-o", "json"], in: workspace)
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(workspace.simulator.stats().total == 0, "a provider was called")
        #expect(plan.stderr.contains("Planned against stored listings (no provider was called):"))
        #expect(plan.stderr.contains(/listed \d+s ago \(20\d\d-/))
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8))
        #expect(decoded.actions.map(\.file) == ["b"])
        // Without keys (a pull request from a fork): the same plan; unset keys are notes.
        let keyless = try await FerryProcess.run(
            ["plan", "--refresh=false", "--detailed-exitcode", "-o", "json"], in: workspace,
            extraEnvironment: ["OPENAI_API_KEY": "", "AZURE_API_KEY": ""])
        #expect(keyless.status == 2, "\(keyless.stderr)")
        #expect(keyless.stderr.contains("note: environment variable OPENAI_API_KEY is not set"))
        #expect(try JSONDecoder().decode(Plan.self, from: Data(keyless.stdout.utf8)).actions == decoded.actions)
        if backend == .sqlite {
            #expect(FileManager.default.contents(atPath: workspace.statePath) == before, "the state file changed")
        }
        #expect(try workspace.engine().store.recentRuns(limit: 100).count == runsBefore)

        // Out-of-band deletion: invisible without refresh, visible with it.
        let owned = try #require(workspace.openAIFiles.first)
        workspace.simulator.removeFile(apiKey: Workspace.openAIKey, id: owned.id)
        let stale = try await FerryProcess.run(["plan", "--refresh=false"], in: workspace)
        #expect(stale.stdout.contains("+ create b"), "\(stale.stdout)")
        #expect(!stale.stdout.contains("+ create a"))
        #expect(workspace.simulator.stats().total == 0)
        let fresh = try await FerryProcess.run(["drift"], in: workspace)
        #expect(fresh.status == 2, "\(fresh.stdout)")
    }

    /// `--target` and `--exclude` limit plan, apply and reconcile to matching names (a FileSet by its name); prunes
    /// outside the target are left alone and do not count against the deletion budget; a saved targeted plan is
    /// applied within its scope, and cannot be re-scoped.
    @Test func targetAndExclude() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        for name in ["a", "b", "old"] { workspace.declare(name, models: ["gpt-4o-mini"]) }
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        workspace.remove("manifests/old.yaml")
        workspace.declare("c", models: ["gpt-4o-mini"])
        workspace.declare("a", models: ["gpt-4o-mini"], content: "changed\n")
        workspace.write("manifests/guides/one.md", "# one\n")
        workspace.write("manifests/guides/two.md", "# two\n")
        workspace.write(
            "manifests/guides.yaml",
            "kind: FileSet\nmetadata: {name: guides}\nspec: {sources: 'guides/*.md', purpose: assistants, targetModels: [gpt-4o-mini]}\n")

        let targeted = try await FerryProcess.run(["plan", "--target", "guides", "--target", "c", "-o", "json"], in: workspace)
        #expect(targeted.status == 0, "\(targeted.stderr)")
        let plan = try JSONDecoder().decode(Plan.self, from: Data(targeted.stdout.utf8))
        #expect(plan.actions.map(\.file) == ["c", "guides/one.md", "guides/two.md"])
        #expect(plan.scope == PlanScope(targets: ["guides", "c"]))
        #expect(plan.warnings.contains { $0.hasPrefix("targeting is in effect (--target guides --target c)") && $0.contains("2 other file(s)") })

        let excluded = try await FerryProcess.run(["plan", "--exclude", "guides/*", "--exclude", "old"], in: workspace)
        #expect(excluded.stdout.contains("~ replace a"), "\(excluded.stdout)")
        #expect(excluded.stdout.contains("+ create c"))
        #expect(!excluded.stdout.contains("create guides/"))
        #expect(!excluded.stdout.contains("delete old"))

        // A saved targeted plan applies exactly its scope, and refuses a new one.
        let planFile = workspace.root.appendingPathComponent("t.plan").path
        #expect(try await FerryProcess.run(["plan", "--target", "c", "-out", planFile], in: workspace).status == 0)
        let rescoped = try await FerryProcess.run(["apply", planFile, "--target", "a"], in: workspace)
        #expect(rescoped.status == 1)
        #expect(rescoped.stderr.contains("--target and --exclude cannot change a saved plan"))
        let applied = try await FerryProcess.run(["apply", planFile], in: workspace)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(Set(workspace.openAIFiles.map(\.filename)) == ["a.md", "b.md", "old.md", "c.md"])

        // Pruning only within the target: a budget of 0 refuses the prune when it is targeted, not otherwise.
        let other = try await FerryProcess.run(["reconcile", "--target", "a", "--max-deletes", "0"], in: workspace)
        #expect(other.status == 0, "\(other.stderr)")
        #expect(workspace.openAIFiles.map(\.filename).filter { $0 == "old.md" } == ["old.md"])
        let prune = try await FerryProcess.run(["reconcile", "--target", "old", "--max-deletes", "0"], in: workspace)
        #expect(prune.status == 1)
        #expect(prune.stdout.contains("over the budget of 0") || prune.stderr.contains("over the budget of 0"))
        #expect(try await FerryProcess.run(["reconcile", "--target", "old"], in: workspace).status == 0)
        #expect(!workspace.openAIFiles.contains { $0.filename == "old.md" })
        #expect(!workspace.openAIFiles.contains { $0.filename == "one.md" }, "guides were never targeted")
    }

    /// `plan --refresh-only` and `ferry drift`: 0 when the providers are as Ferry left them; 2 with each owned file
    /// deleted or changed out of band named; the state's owned files are not touched; Markdown and JSON renderings.
    @Test(arguments: StateBackend.all) func driftCheck(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("a", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.declare("b", models: ["gpt-4o-mini"])
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        let clean = try await FerryProcess.run(["plan", "--refresh-only"], in: workspace)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("No drift: 3 owned file(s) are as Ferry left them."))

        // Missing now but listed by the apply's own check: deleted, however recent the upload.
        let store = try workspace.engine().store
        let ownedBefore = try store.ownedFiles()
        let victim = try #require(workspace.openAIFiles.first { $0.filename == "b.md" })
        workspace.simulator.removeFile(apiKey: Workspace.openAIKey, id: victim.id)
        let receiver = try await WebhookReceiver()
        defer { Task { await receiver.close() } }
        let drift = try await FerryProcess.run(["drift", "--notify", receiver.url("/hooks/drift")], in: workspace)
        #expect(drift.status == 2, "\(drift.stdout)\(drift.stderr)")
        // The scheduled check alerts: one drift event naming the deleted file.
        #expect(receiver.received.count == 1)
        let event = receiver.received.first?.json ?? [:]
        #expect(event["event"] as? String == "drift")
        #expect((event["text"] as? String)?.contains("Drift: 1 deleted, 0 changed, 0 foreign.") == true, "\(event)")
        #expect((event["placements"] as? [[String: Any]])?.first?["file"] as? String == "b")
        #expect(drift.stdout.contains("- b on openai"), "\(drift.stdout)")
        #expect(drift.stdout.contains("deleted out of band (\(victim.id))"))
        #expect(drift.stdout.contains("Drift: 1 deleted, 0 changed, 0 foreign."))
        #expect(try store.ownedFiles() == ownedBefore, "a drift check changed the owned files")
        let markdown = try await FerryProcess.run(
            ["plan", "--refresh-only", "-o", "markdown"], in: workspace)
        #expect(markdown.status == 2)
        #expect(markdown.stdout.hasPrefix("### Ferry drift\n\n**Drift: 1 deleted"))
        let json = try await FerryProcess.run(
            ["drift", "-o", "json"], in: workspace)
        let report = try JSONDecoder().decode(DriftReport.self, from: Data(json.stdout.utf8))
        #expect(report.findings.map(\.kind) == [.deleted])
        // Reconcile repairs it; the drift is gone.
        #expect(try await FerryProcess.run(["reconcile"], in: workspace).status == 0)
        let quiet = try await FerryProcess.run(["plan", "--refresh-only", "--notify", receiver.url("/hooks/drift")], in: workspace)
        #expect(quiet.status == 0)
        #expect(receiver.received.count == 1, "no drift, no message")
        let misuse = try await FerryProcess.run(["plan", "--notify", receiver.url("/x")], in: workspace)
        #expect(misuse.status != 0)
        #expect(misuse.stderr.contains("plan posts notifications only with --refresh-only"))
    }

    /// Renaming a declaration moves the owned files (`> move`): no upload, no delete, one remote file per placement
    /// before and after; the unified id follows the new name and the old one answers 404 saying where it went.
    /// `previousNames` moves a file whose content changed in the same commit (a replace of the moved file).
    @Test(arguments: StateBackend.all) func renameWithoutReupload(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.declare("faq", models: ["gpt-4o-mini"])
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        let before = Set(workspace.openAIFiles.map(\.id)).union(workspace.azureFiles.map(\.id))
        let oldID = UnifiedID.make(for: "handbook")

        // Same source under a new name.
        workspace.remove("manifests/handbook.yaml")
        workspace.write(
            "manifests/employee-handbook.yaml",
            "kind: File\nmetadata: {name: employee-handbook}\nspec: {source: docs/handbook.md, purpose: assistants, targetModels: [gpt-4o-mini, azure-gpt-4o]}\n")
        // Renamed and edited at once, with the old name given.
        workspace.remove("manifests/faq.yaml")
        workspace.write("manifests/docs/faq.md", "# FAQ\n\nEdited while renamed.\n")
        workspace.write(
            "manifests/questions.yaml",
            "kind: File\nmetadata: {name: questions, previousNames: [faq]}\nspec: {source: docs/faq.md, purpose: assistants, targetModels: [gpt-4o-mini]}\n")
        workspace.simulator.resetStats()
        let plan = try await FerryProcess.run(["plan"], in: workspace)
        #expect(plan.stdout.contains("> move handbook → employee-handbook"), "\(plan.stdout)")
        #expect(plan.stdout.contains("> move faq → questions"))
        #expect(plan.stdout.contains("~ replace questions"))
        #expect(!plan.stdout.contains("delete handbook"))
        #expect(!plan.stdout.contains("create employee-handbook"))
        let apply = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(apply.status == 0, "\(apply.stderr)")
        let stats = workspace.simulator.stats().requests
        #expect(stats["POST /v1/files"] == 1, "only the edited file is uploaded: \(stats)")
        let after = Set(workspace.openAIFiles.map(\.id)).union(workspace.azureFiles.map(\.id))
        #expect(after.count == 3)
        #expect(before.intersection(after).count == 2, "the renamed handbook kept both remote files")
        let owned = try workspace.engine().store.ownedFiles()
        #expect(Set(owned.map(\.file)) == ["employee-handbook", "questions"])
        #expect(owned.filter { $0.file == "employee-handbook" }.allSatisfy { $0.unifiedID == UnifiedID.make(for: "employee-handbook") })
        #expect(try await FerryProcess.run(["plan", "--detailed-exitcode"], in: workspace).status == 0)

        if backend == .sqlite {
            let server = try BackgroundFerry(
                ["serve", "--listen", "127.0.0.1:0", "--state", workspace.statePath], in: workspace, plain: true)
            let base = try await server.statusURL()
            let gone = try await fetch(base + "/v1/files/" + oldID)
            #expect(gone.status == 404)
            #expect(gone.body.contains("renamed from 'handbook' to 'employee-handbook'"), "\(gone.body)")
            #expect(gone.body.contains(UnifiedID.make(for: "employee-handbook")))
            #expect(try await fetch(base + "/v1/files/" + UnifiedID.make(for: "employee-handbook")).status == 200)
            _ = await server.stop()
        }
    }

    /// `protect: true` is recorded in the state by apply. Removing the declaration then releases the file (left on
    /// the provider, reported) even though `protect` went away with it; only an applied plan that unprotects the
    /// still-declared file (`unprotect …`) lets a later removal delete it.
    @Test(arguments: StateBackend.all) func protectionHeldInState(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        func declare(_ name: String, protect: Bool?) {
            workspace.write("manifests/docs/\(name).md", "# \(name)\n")
            workspace.write(
                "manifests/\(name).yaml",
                "kind: File\nmetadata: {name: \(name)}\nspec: {source: docs/\(name).md, purpose: assistants, targetModels: [gpt-4o-mini]"
                    + (protect.map { ", protect: \($0)" } ?? "") + "}\n")
        }
        declare("keep", protect: nil)
        declare("legal", protect: true)
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)
        // Protect an existing file: an explicit, applied step.
        declare("keep", protect: true)
        let protect = try await FerryProcess.run(["plan"], in: workspace)
        #expect(protect.stdout.contains(". protect keep (record deletionPolicy Protect in the state)"), "\(protect.stdout)")
        #expect(try await FerryProcess.run(["apply", "--auto-approve"], in: workspace).status == 0)

        // Declaration (and its protect) removed: released, not deleted.
        workspace.remove("manifests/legal.yaml")
        let release = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout.contains(". release legal"), "\(release.stdout)")
        #expect(release.stdout.contains("(protected: left on the provider)"))
        #expect(workspace.openAIFiles.contains { $0.filename == "legal.md" })
        #expect(workspace.simulator.stats().requests["DELETE /v1/files/{id}"] == nil)

        // Unprotect first (applied), then removing the declaration deletes.
        declare("keep", protect: false)
        let unprotect = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(unprotect.stdout.contains(". unprotect keep"), "\(unprotect.stdout)")
        workspace.remove("manifests/keep.yaml")
        let delete = try await FerryProcess.run(["apply", "--auto-approve", "--allow-empty"], in: workspace)
        #expect(delete.stdout.contains("- delete keep"), "\(delete.stdout)")
        #expect(!workspace.openAIFiles.contains { $0.filename == "keep.md" }, "\(delete.stdout)\(delete.stderr)")
    }
}
