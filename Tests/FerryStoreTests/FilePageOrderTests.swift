import FerryCore
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// `/v1/files` pages come from `desired_files.first_created_at`, which triggers keep equal to the earliest owned copy's
/// `created_at` (or last, before any upload) as owned files are recorded, removed and moved and as snapshots rewrite
/// the declared files.
@Suite("File pages in creation order")
struct FilePageOrderTests {
    static let endpoint = "openai|https://api.openai.com/v1|env:OPENAI_API_KEY"

    static func owned(_ file: String, _ id: String, createdAt: Int64) -> OwnedFile {
        OwnedFile(
            endpointID: endpoint, remoteID: id, file: file, digest: "x", bytes: 1, filename: "\(file).md",
            purpose: "assistants", createdAt: createdAt, deletionPolicy: .delete)
    }

    static func snapshot(_ store: any StateStore, _ names: [String], at: Double) throws {
        let files = names.map {
            DesiredFile(
                name: $0, sourcePath: "\($0).md", bytes: 1, purpose: $0 == "d" ? "batch" : "assistants",
                filename: "\($0).md", targetModels: ["m"])
        }
        try store.saveSnapshot(
            desired: DesiredState(files: files, models: []), digests: [:],
            plan: Plan(actions: [], placements: [], endpoints: [], blocked: [], warnings: [], desiredFingerprint: "\(at)"),
            at: at)
    }

    static func names(_ store: any StateStore, ascending: Bool = true, after: String? = nil, purpose: String? = nil, limit: Int = 10)
        throws -> [String]
    {
        let id = after.map { UnifiedID.make(for: $0) }
        return try #require(try store.desiredFilePage(ascending: ascending, after: id, purpose: purpose, limit: limit))
            .files.map(\.file.name)
    }

    @Test(arguments: StateBackend.all) func orderFollowsOwnedFiles(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        try store.recordOwned(Self.owned("a", "file-a", createdAt: 300), closingIntent: nil, at: 1)
        try Self.snapshot(store, ["a", "b", "c", "d"], at: 1_000)
        try store.recordOwned(Self.owned("b", "file-b1", createdAt: 100), closingIntent: nil, at: 1)
        try store.recordOwned(Self.owned("b", "file-b2", createdAt: 500), closingIntent: nil, at: 1)
        try store.recordOwned(Self.owned("d", "file-d", createdAt: 200), closingIntent: nil, at: 1)
        // Owned before the snapshot (a) and after it (b, d); c is not uploaded: last.
        #expect(try Self.names(store) == ["b", "d", "a", "c"])
        #expect(try Self.names(store, ascending: false) == ["c", "a", "d", "b"])
        #expect(try Self.names(store, limit: 2) == ["b", "d"])
        #expect(try Self.names(store, after: "d", limit: 2) == ["a", "c"])
        #expect(try Self.names(store, ascending: false, after: "a") == ["d", "b"])
        #expect(try Self.names(store, purpose: "assistants") == ["b", "a", "c"])
        #expect(try Self.names(store, after: "b", purpose: "assistants") == ["a", "c"])
        #expect(try store.desiredFilePage(ascending: true, after: "file-ferry-nope", purpose: nil, limit: 1) == nil)

        // b's oldest copy goes: it sorts by its other one. c gets one: it moves to the front.
        try store.removeOwned(endpointID: Self.endpoint, remoteID: "file-b1")
        try store.recordOwned(Self.owned("c", "file-c", createdAt: 50), closingIntent: nil, at: 1)
        #expect(try Self.names(store) == ["c", "d", "a", "b"])
        // A move (rename) carries the copy's time to its new name; the old name has nothing left.
        try Self.snapshot(store, ["a", "b", "c", "d", "e"], at: 2_000)
        try store.moveOwned(endpointID: Self.endpoint, remoteID: "file-a", to: "e", unifiedID: UnifiedID.make(for: "e"), at: 3)
        #expect(try Self.names(store) == ["c", "d", "e", "b", "a"])
        // A snapshot that rewrites the declared rows keeps the keys.
        try Self.snapshot(store, ["b", "c", "d", "e"], at: 3_000)
        #expect(try Self.names(store) == ["c", "d", "e", "b"])
    }
}
