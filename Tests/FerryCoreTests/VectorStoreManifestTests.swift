import FerryCore
import Testing

@Suite("VectorStore manifests and planning")
struct VectorStoreManifestTests {
    static let files = """
        kind: File
        metadata: {name: a, labels: {team: support}}
        spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini, azure-gpt-4o]}
        ---
        kind: File
        metadata: {name: b}
        spec: {source: docs/b.md, purpose: assistants, targetModels: [gpt-4o-mini]}
        """

    /// Files by name and by label selector, settings read, one placement per endpoint of the target models.
    @Test func resolves() throws {
        let loaded = try load([
            "f.yaml": Self.files,
            "s.yaml": """
            kind: VectorStore
            metadata: {name: kb}
            spec:
              displayName: Knowledge base
              targetModels: [gpt-4o-mini]
              files: [b]
              selector: {matchLabels: {team: support}}
              expiresAfterDays: 7
              chunkingStrategy: {type: static, maxChunkSizeTokens: 400, chunkOverlapTokens: 100}
              metadata: {owner: support}
            """,
        ])
        let store = try #require(loaded.desired.vectorStores.first)
        #expect(store.files == ["a", "b"])
        #expect(store.displayName == "Knowledge base")
        #expect(store.expiresAfterDays == 7)
        #expect(store.chunking == .fixed(maxChunkSizeTokens: 400, chunkOverlapTokens: 100))
        #expect(store.providerMetadata == ["owner": "support", "ferry-vector-store": "kb"])
        #expect(loaded.desired.endpoints(of: store).map(\.kind) == [.openai])
    }

    /// Each mistake is reported where it was written, with what to do.
    @Test func diagnosesMistakes() {
        let found = diagnostics([
            "f.yaml": Self.files,
            "s.yaml": """
            kind: VectorStore
            metadata: {name: kb}
            spec:
              targetModels: [claude, azure-gpt-4o]
              files: [a, b, c]
              expiresAfterDays: 400
              chunkingStrategy: {type: static, maxChunkSizeTokens: 400, chunkOverlapTokens: 300}
              metadata: {ferry-vector-store: mine}
            """,
        ])
        #expect(found.contains { $0.hasPrefix("manifests/s.yaml:4:18: error: model 'claude' uses provider 'anthropic', which has no vector stores") })
        #expect(found.contains { $0.hasPrefix("manifests/s.yaml:5:17: error: vector store 'kb' lists 'c', which no File or FileSet declares") })
        #expect(found.contains { $0.hasPrefix("manifests/s.yaml:6:21: error: expiresAfterDays must be a whole number of days from 1 to 365") })
        #expect(found.contains { $0.hasPrefix("manifests/s.yaml:7:81: error: chunkOverlapTokens must be a whole number from 0 to half of maxChunkSizeTokens (200)") })
        #expect(found.contains { $0.hasPrefix("manifests/s.yaml:8:14: error: metadata key 'ferry-vector-store' is Ferry's own mark") })
    }

    /// A file must be uploaded wherever its store lives: the error names the model to add.
    @Test func memberMustBePlacedWhereTheStoreIs() {
        let found = diagnostics([
            "f.yaml": Self.files,
            "s.yaml": """
            kind: VectorStore
            metadata: {name: kb}
            spec: {targetModels: [azure-gpt-4o], files: [a, b]}
            """,
        ])
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("manifests/s.yaml:3:49: error: 'b' is in vector store 'kb' but is not uploaded to") == true)
        #expect(found.first?.contains("add azure-gpt-4o to the targetModels of 'b'") == true)
    }

    /// A store names no files, a typo in the kind, an unknown key.
    @Test func shapeErrors() {
        #expect(diagnostics(["s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [gpt-4o-mini]}\n"]) == [
            "manifests/s.yaml:3:7: error: VectorStore 'kb' names no files (hint: add files: [<declared file name>, …] or selector: {matchLabels: {…}})"
        ])
        #expect(diagnostics(["s.yaml": "kind: VectorStor\nmetadata: {name: kb}\n"]).first?.contains("did you mean 'VectorStore'?") == true)
        #expect(
            diagnostics(["f.yaml": Self.files, "s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [gpt-4o-mini], files: [a], chunking: auto}\n"])
                .first?.contains("unknown key 'chunking' in VectorStore spec") == true)
    }

    // MARK: Planner

    static let endpoint = Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("OPENAI_API_KEY"))

    static func desired(files: [String]) -> DesiredState {
        var state = DesiredState(
            files: files.map {
                DesiredFile(name: $0, sourcePath: "docs/\($0).md", bytes: 10, purpose: "assistants", filename: "\($0).md", targetModels: ["m"])
            },
            models: [ModelDefinition(name: "m", model: "openai/gpt-4o-mini", provider: "openai", endpoint: endpoint, origin: "models.yaml:2")])
        state.vectorStores = [DesiredVectorStore(name: "kb", targetModels: ["m"], files: files)]
        return state
    }

    static func filePlan(serving: [String: String], uploading: [String] = []) -> Plan {
        Plan(
            actions: uploading.map { PlannedAction(kind: .replace, reason: .changed, file: $0, endpointID: endpoint.id) },
            placements: serving.map {
                PlacementStatus(file: $0.key, endpointID: endpoint.id, models: ["m"], state: .inSync, remoteID: $0.value)
            }, endpoints: [], blocked: [], warnings: [], desiredFingerprint: "")
    }

    static func listed(_ stores: [RemoteVectorStore]) -> [String: VectorStoreObservation] {
        [endpoint.id: VectorStoreObservation(endpointID: endpoint.id, stores: stores, observedAt: 0)]
    }

    static let mark = [RemoteVectorStore.ownerKey: "kb"]

    /// Converged: nothing to do. A changed setting: one update. An unlisted endpoint: unknown, nothing planned.
    @Test func plansStoreSettings() {
        let store = RemoteVectorStore(
            id: "vs_1", name: "kb", status: "completed", createdAt: 1, metadata: Self.mark,
            attachments: [RemoteAttachment(fileID: "file-a", status: .completed)])
        let converged = VectorStorePlanner.plan(
            desired: Self.desired(files: ["a"]), observations: Self.listed([store]),
            filePlan: Self.filePlan(serving: ["a": "file-a"]), owned: [])
        #expect(converged.actions.isEmpty)
        #expect(converged.statuses.map(\.state) == [.inSync])

        var renamed = store
        renamed.name = "old name"
        let update = VectorStorePlanner.plan(
            desired: Self.desired(files: ["a"]), observations: Self.listed([renamed]),
            filePlan: Self.filePlan(serving: ["a": "file-a"]), owned: [])
        #expect(update.actions.map(\.kind) == [.updateStore])
        #expect(update.actions.first?.metadata == Self.mark)

        let unknown = VectorStorePlanner.plan(
            desired: Self.desired(files: ["a"]),
            observations: [Self.endpoint.id: VectorStoreObservation(endpointID: Self.endpoint.id, stores: nil, error: "503", observedAt: 0)],
            filePlan: Self.filePlan(serving: ["a": "file-a"]), owned: [])
        #expect(unknown.actions.isEmpty)
        #expect(unknown.statuses.first?.state == .unknown)
    }

    /// A replaced file: attach its upload, then detach the old id (both marked `replaced`); an unknown attachment
    /// is detached as removed; a processing attachment shows as processing.
    @Test func plansAttachments() {
        let store = RemoteVectorStore(
            id: "vs_1", name: "kb", status: "in_progress", createdAt: 1, metadata: Self.mark,
            attachments: [
                RemoteAttachment(fileID: "file-a-old", status: .completed),
                RemoteAttachment(fileID: "file-b", status: .inProgress),
                RemoteAttachment(fileID: "file-x", status: .completed),
            ])
        let owned = [
            OwnedFile(
                endpointID: Self.endpoint.id, remoteID: "file-a-old", file: "a", digest: "", bytes: 1, filename: "a.md",
                purpose: "assistants", createdAt: 1, deletionPolicy: .delete)
        ]
        let planned = VectorStorePlanner.plan(
            desired: Self.desired(files: ["a", "b"]), observations: Self.listed([store]),
            filePlan: Self.filePlan(serving: ["a": "file-a-old", "b": "file-b"], uploading: ["a"]), owned: owned)
        #expect(planned.actions.map(\.kind) == [.attach, .detach, .detach])
        #expect(planned.actions[0].file == "a" && planned.actions[0].fileID == nil && planned.actions[0].reason == .replaced)
        #expect(planned.actions.contains { $0.kind == .detach && $0.fileID == "file-a-old" && $0.reason == .replaced })
        #expect(planned.actions.contains { $0.kind == .detach && $0.fileID == "file-x" && $0.reason == .removed })
        #expect(planned.statuses.first?.attachments.first { $0.file == "b" }?.status == .inProgress)

        let settled = VectorStorePlanner.plan(
            desired: Self.desired(files: ["b"]),
            observations: Self.listed([RemoteVectorStore(
                id: "vs_1", name: "kb", status: "in_progress", createdAt: 1, metadata: Self.mark,
                attachments: [RemoteAttachment(fileID: "file-b", status: .inProgress)])]),
            filePlan: Self.filePlan(serving: ["b": "file-b"]), owned: [])
        #expect(settled.actions.isEmpty)
        #expect(settled.statuses.first?.state == .processing)
    }

    /// Scope limits attaches and detaches to the targeted file names.
    @Test func scopeLimitsAttachments() {
        let store = RemoteVectorStore(id: "vs_1", name: "kb", status: "completed", createdAt: 1, metadata: Self.mark, attachments: [])
        let planned = VectorStorePlanner.plan(
            desired: Self.desired(files: ["a", "b"]), observations: Self.listed([store]),
            filePlan: Self.filePlan(serving: ["a": "file-a", "b": "file-b"]), owned: [],
            scope: PlanScope(targets: ["a"]))
        #expect(planned.actions.map(\.file) == ["a"])
    }
}
