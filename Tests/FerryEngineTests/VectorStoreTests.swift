import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

extension Workspace {
    /// Declares `kind: VectorStore` `name` holding `files`, on `models`.
    func declareStore(
        _ name: String, files: [String], models: [String] = ["gpt-4o-mini", "azure-gpt-4o"], extra: String = ""
    ) {
        write(
            "manifests/store-\(name).yaml",
            """
            apiVersion: ferry.dev/v1alpha1
            kind: VectorStore
            metadata: {name: \(name)}
            spec:
              targetModels: [\(models.joined(separator: ", "))]
              files: [\(files.joined(separator: ", "))]
            \(extra)
            """)
    }

    var openAIStores: [SimulatedVectorStore] { simulator.vectorStores(apiKey: Self.openAIKey, flavor: .openai) }
    var azureStores: [SimulatedVectorStore] { simulator.vectorStores(apiKey: Self.azureKey, flavor: .azure) }

    /// The id of the file Ferry owns for `file` on the OpenAI endpoint.
    func ownedOpenAIID(_ file: String) throws -> String? {
        try engine().store.ownedFiles().first { $0.file == file && $0.endpointID.hasPrefix("openai|") }?.remoteID
    }
}

@Suite("Vector stores end to end")
struct VectorStoreTests {
    /// Created once per endpoint with Ferry's mark, each declared file attached and awaited; a second pass does
    /// nothing; removing a file from the store detaches it (the file stays); removing the store deletes it (the files
    /// stay).
    @Test(arguments: StateBackend.all) func lifecycle(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.declare("faq", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.declareStore(
            "support-kb", files: ["handbook", "faq"],
            extra: "  displayName: Support KB\n  expiresAfterDays: 30\n  metadata: {team: support}")

        let plan = try await workspace.plan()
        let kinds = (plan.vectorStoreActions ?? []).map(\.kind)
        #expect(kinds.filter { $0 == .createStore }.count == 2)
        #expect(kinds.filter { $0 == .attach }.count == 4)
        #expect(plan.renderText().contains("create vector store support-kb"))

        let report = try await workspace.reconcile()
        #expect(report.outcome == .converged)
        for stores in [workspace.openAIStores, workspace.azureStores] {
            #expect(stores.count == 1)
            #expect(stores.first?.name == "Support KB")
            #expect(stores.first?.metadata == ["ferry-vector-store": "support-kb", "team": "support"])
            #expect(stores.first?.expiresAfterDays == 30)
            #expect(stores.first?.files.values.allSatisfy { $0 == "completed" } == true)
            #expect(stores.first?.files.count == 2)
        }
        let handbook = try #require(try workspace.ownedOpenAIID("handbook"))
        #expect(workspace.openAIStores.first?.files[handbook] == "completed")

        let again = try await workspace.plan()
        #expect(again.isEmpty)
        #expect(again.vectorStores?.allSatisfy { $0.state == .inSync } == true)
        #expect(again.summaryLine.contains("2 vector store placements in sync"))
        // The status view reads the statuses stored with the snapshot.
        let shown = try workspace.engine().store.vectorStoreStatuses()
        #expect(shown.map(\.state) == [.inSync, .inSync])
        #expect(shown.allSatisfy { $0.expiresAfterDays == 30 && $0.expiresAt != nil && $0.attachments.count == 2 })

        // A file leaves the store: detached, not deleted.
        workspace.declareStore(
            "support-kb", files: ["handbook"],
            extra: "  displayName: Support KB\n  expiresAfterDays: 30\n  metadata: {team: support}")
        let faq = try #require(try workspace.ownedOpenAIID("faq"))
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.openAIStores.first?.files.keys.sorted() == [handbook])
        #expect(workspace.openAIFiles.contains { $0.id == faq })

        // The store's declaration goes: deleted on both endpoints, every file kept.
        workspace.remove("manifests/store-support-kb.yaml")
        let prune = try await workspace.plan()
        #expect((prune.vectorStoreActions ?? []).map(\.kind) == [.deleteStore, .deleteStore])
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.openAIStores.isEmpty && workspace.azureStores.isEmpty)
        #expect(workspace.openAIFiles.count == 2)
        #expect(try await workspace.plan().isEmpty)
    }

    /// New content: the new file is attached (and completed) before the old one leaves the store, and only then is
    /// the old file deleted; the unified id stays.
    @Test func replaceAttachesBeforeDetaching() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        workspace.declareStore("kb", files: ["handbook"], models: ["gpt-4o-mini"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let old = try #require(try workspace.ownedOpenAIID("handbook"))
        let store = try #require(workspace.openAIStores.first?.id)

        workspace.declare("handbook", models: ["gpt-4o-mini"], content: "# handbook\n\nRevised.\n")
        let plan = try await workspace.plan()
        let storeActions = plan.vectorStoreActions ?? []
        #expect(storeActions.map(\.kind) == [.attach, .detach])
        #expect(storeActions.allSatisfy { $0.reason == .replaced })
        #expect(plan.renderText().contains("attach handbook (its new upload) to vector store kb"))

        let before = workspace.simulator.vectorStoreEvents().count
        #expect(try await workspace.reconcile().outcome == .converged)
        let new = try #require(try workspace.ownedOpenAIID("handbook"))
        #expect(new != old)
        let events = Array(workspace.simulator.vectorStoreEvents().dropFirst(before))
        #expect(events.first == "attach \(store) \(new)")
        #expect(events.dropFirst().first == "detach \(store) \(old)")
        #expect(workspace.openAIStores.first?.files == [new: "completed"])
        #expect(!workspace.openAIFiles.contains { $0.id == old })
        #expect(try await workspace.plan().isEmpty)
    }

    /// A file type file search cannot index fails to attach: the apply reports the provider's last_error, the plan
    /// shows the store failed, and the old content is not lost.
    @Test func failedAttachmentIsReported() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        workspace.write("manifests/docs/table.bin", "\u{1}\u{2}binary")
        workspace.write(
            "manifests/table.yaml",
            """
            apiVersion: ferry.dev/v1alpha1
            kind: File
            metadata: {name: table}
            spec: {source: docs/table.bin, purpose: assistants, targetModels: [gpt-4o-mini]}
            """)
        workspace.declareStore("kb", files: ["handbook", "table"], models: ["gpt-4o-mini"])
        let engine = try workspace.engine()
        let result = try await engine.applyPass()
        #expect(result.outcome == .failed)
        let failure = try #require(result.report?.vectorStores.failed.first)
        #expect(failure.action.file == "table")
        #expect(failure.message.contains("unsupported_file"))
        #expect(result.report?.vectorStores.applied.contains { $0.kind == .attach && $0.file == "handbook" } == true)
        let status = try #require(try await workspace.plan().vectorStores?.first)
        #expect(status.state == .failed)
        #expect(status.detail?.contains("unsupported_file") == true)
        #expect(status.attachments.first { $0.file == "handbook" }?.status == .completed)
    }

    /// A store created by a run whose answer was lost carries Ferry's mark: it is adopted, not created again; a
    /// second store with the same mark is deleted (the oldest is kept). Someone else's store is left alone.
    @Test func markedStoresAreAdoptedAndDuplicatesDeleted() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        workspace.declareStore("kb", files: ["handbook"], models: ["gpt-4o-mini"])
        let kept = workspace.simulator.seedVectorStore(
            apiKey: Workspace.openAIKey, name: "kb", metadata: ["ferry-vector-store": "kb"], createdAt: 1_700_000_000)
        let duplicate = workspace.simulator.seedVectorStore(
            apiKey: Workspace.openAIKey, name: "kb", metadata: ["ferry-vector-store": "kb"], createdAt: 1_700_000_100)
        let theirs = workspace.simulator.seedVectorStore(apiKey: Workspace.openAIKey, name: "kb", metadata: [:])
        let plan = try await workspace.plan()
        let actions = plan.vectorStoreActions ?? []
        #expect(!actions.contains { $0.kind == .createStore })
        #expect(actions.contains { $0.kind == .deleteStore && $0.storeID == duplicate && $0.reason == .duplicate })
        #expect(actions.contains { $0.kind == .attach && $0.storeID == kept })
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.openAIStores.map(\.id).sorted() == [kept, theirs].sorted())
        #expect(workspace.openAIStores.first { $0.id == kept }?.files.count == 1)
    }

    /// A saved plan with vector store changes is refused when the stores changed since.
    @Test func savedPlanNoticesStoreChanges() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        #expect(try await workspace.reconcile().outcome == .converged)
        workspace.declareStore("kb", files: ["handbook"], models: ["gpt-4o-mini"])
        let saved = try await workspace.plan()
        #expect(saved.actions.isEmpty && !(saved.vectorStoreActions ?? []).isEmpty)
        workspace.simulator.seedVectorStore(apiKey: Workspace.openAIKey, name: "kb", metadata: ["ferry-vector-store": "kb"])
        let engine = try workspace.engine()
        await #expect(throws: EngineError.self) {
            _ = try await engine.applyPass(
                saved: SavedPlanInput(saved: SavedPlan(plan: saved, createdAt: 0, manifestRoot: workspace.root.path), path: "plan.bin"))
        }
    }
}
