import FerryCore
import FerryEngine
import FerryProviders
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// Records the order of provider calls and checks, at each delete, that the placement still has a file.
final class CallRecorder: FileProvider, @unchecked Sendable {
    let inner: any FileProvider
    let lock = NSLock()
    var calls: [String] = []
    var gaps: [String] = []

    init(_ inner: any FileProvider) { self.inner = inner }
    var endpoint: Endpoint { inner.endpoint }

    func note(_ call: String) { lock.withLock { calls.append(call) } }

    func list() async throws -> Listing {
        note("list")
        return try await inner.list()
    }

    func create(_ upload: UploadRequest) async throws -> RemoteFile {
        let file = try await inner.create(upload)
        note("create \(upload.filename) \(file.id)")
        return file
    }

    func retrieve(id: String) async throws -> RemoteFile { try await inner.retrieve(id: id) }

    func delete(id: String) async throws {
        // Before deleting, the endpoint must still hold another file with the same name (the replacement).
        let victim = try await inner.retrieve(id: id)
        let listing = try await inner.list()
        if !listing.files.contains(where: { $0.id != id && $0.filename == victim.filename }) {
            lock.withLock { gaps.append(id) }
        }
        note("delete \(id)")
        try await inner.delete(id: id)
    }

    func content(id: String, to destinationPath: String) async throws -> Int64 {
        try await inner.content(id: id, to: destinationPath)
    }
}

/// Each case runs on SQLite and, when a server is available, on PostgreSQL (`StateBackend.all`).
@Suite("End to end over the simulator", .serialized)
struct ConvergeTests {
    /// The first pass uploads once per endpoint; the second pass sends only list requests and changes nothing.
    @Test(arguments: StateBackend.all) func firstApplyCreatesSecondIsNoOp(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")
        workspace.declare("faq", models: ["gpt-4o-mini"])

        let first = try await workspace.reconcile()
        #expect(first.outcome == .converged)
        #expect(first.applied == 3)
        #expect(workspace.openAIFiles.map(\.filename).sorted() == ["faq.md", "handbook.md"])
        #expect(workspace.azureFiles.map(\.filename) == ["handbook.md"])

        workspace.simulator.resetStats()
        let second = try await workspace.reconcile()
        #expect(second.outcome == .converged)
        #expect(second.applied == 0)
        #expect(second.lastPlan.summaryLine == "No changes. 3 placements in sync.")
        let stats = workspace.simulator.stats()
        #expect(stats.requests == ["GET /v1/files": 1, "GET /openai/files": 1])
    }

    /// A changed source is replaced: the new file is uploaded before the old one is deleted, and the
    /// unified id stays the same.
    @Test(arguments: StateBackend.all) func changedSourceIsReplacedWithoutGap(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        try await workspace.reconcile()
        let before = try #require(workspace.openAIFiles.first)
        let unified = UnifiedID.make(for: "handbook")

        workspace.write("manifests/docs/handbook.md", "# handbook\n\nRevised content, longer than before.\n")
        let recorders = RecorderBox()
        let engine = try workspace.engine(wrap: { provider in recorders.wrap(provider) })
        let inputs = try await engine.load()
        let plan = try await engine.plan(inputs, try await engine.observe(inputs))
        #expect(plan.actions.map(\.kind) == [.replace])
        #expect(plan.actions[0].unifiedID == unified)
        let report = await engine.apply(plan, inputs: inputs)
        #expect(report.succeeded)

        let after = workspace.openAIFiles
        #expect(after.count == 1)
        #expect(after[0].id != before.id)
        #expect(after[0].bytes == Int64("# handbook\n\nRevised content, longer than before.\n".utf8.count))
        let calls = recorders.all.flatMap(\.calls)
        let createIndex = try #require(calls.firstIndex { $0.hasPrefix("create handbook.md") })
        let deleteIndex = try #require(calls.firstIndex { $0 == "delete \(before.id)" })
        #expect(createIndex < deleteIndex)
        #expect(recorders.all.flatMap(\.gaps).isEmpty)
        #expect(try await workspace.plan().isEmpty)
    }

    /// Removing a manifest prunes only the files Ferry owns; a file someone else uploaded survives,
    /// and a Retain file is released, not deleted.
    @Test(arguments: StateBackend.all) func removedManifestPrunesOnlyOwned(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        let foreign = workspace.simulator.seedFile(
            apiKey: Workspace.openAIKey, filename: "old.md", purpose: "assistants", data: Array("not ours".utf8),
            createdAt: 1_000)
        workspace.declare("keep", models: ["gpt-4o-mini"])
        workspace.declare("old", models: ["gpt-4o-mini"])
        workspace.declare("kept-on-removal", models: ["gpt-4o-mini"], policy: "Retain")
        try await workspace.reconcile()
        #expect(workspace.openAIFiles.count == 4)

        workspace.remove("manifests/old.yaml")
        workspace.remove("manifests/kept-on-removal.yaml")
        let plan = try await workspace.plan()
        #expect(plan.actions.map(\.kind) == [.release, .delete])
        let report = try await workspace.reconcile()
        #expect(report.outcome == .converged)
        let names = workspace.openAIFiles.map(\.filename).sorted()
        #expect(names == ["keep.md", "kept-on-removal.md", "old.md"])
        #expect(workspace.openAIFiles.contains { $0.id == foreign.id })
        let engine = try workspace.engine()
        #expect(try engine.store.ownedFiles().map(\.file) == ["keep"])
    }

    /// A file deleted out of band is noticed by the listing and uploaded again.
    @Test(arguments: StateBackend.all) func outOfBandDeletionIsRepaired(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        try await workspace.reconcile()
        let original = try #require(workspace.openAIFiles.first)
        workspace.simulator.removeFile(apiKey: Workspace.openAIKey, id: original.id)
        // Owned files younger than the listing grace are trusted; use a zero grace to see the repair now.
        let report = try await workspace.reconcile(policy: PlanPolicy(listingGraceSeconds: -1))
        #expect(report.outcome == .converged)
        #expect(workspace.openAIFiles.count == 1)
        #expect(workspace.openAIFiles.first?.id != original.id)
    }

    /// A terminal provider refusal on one endpoint leaves the others converged and reports the placement.
    @Test(arguments: StateBackend.all) func failingPlacementDoesNotBlockOthers(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.simulator.setFaults(FaultPlan(seed: 1, errorRate: ["create": 1.0], errorStatuses: [400]))
        let report = try await workspace.reconcile()
        #expect(report.outcome == .notConverged)
        #expect(report.failures.count == 2)
        workspace.simulator.setFaults(.none)
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.openAIFiles.count == 1)
        #expect(workspace.azureFiles.count == 1)
    }

    /// An upload whose answer is lost (the provider stored it, then failed the response) is adopted by the
    /// next observation, not uploaded twice.
    @Test(arguments: StateBackend.all) func ambiguousCreateIsAdoptedNotDuplicated(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(seed: 7, acceptThenFailRate: 1.0))
        let engine = try workspace.engine()
        let inputs = try await engine.load()
        let plan = try await engine.plan(inputs, try await engine.observe(inputs))
        let report = await engine.apply(plan, inputs: inputs)
        #expect(!report.succeeded)
        #expect(workspace.openAIFiles.count == 1)
        #expect(try engine.store.intents().count == 1)
        workspace.simulator.setFaults(.none)
        let next = try await engine.plan(inputs, try await engine.observe(inputs))
        #expect(next.actions.map(\.kind) == [.adopt])
        _ = await engine.apply(next, inputs: inputs)
        #expect(try await workspace.plan().isEmpty)
        #expect(workspace.openAIFiles.count == 1)
        #expect(try engine.store.intents().isEmpty)
    }
}

final class RecorderBox: @unchecked Sendable {
    let lock = NSLock()
    var all: [CallRecorder] = []
    func wrap(_ provider: any FileProvider) -> any FileProvider {
        let recorder = CallRecorder(provider)
        lock.withLock { all.append(recorder) }
        return recorder
    }
}
