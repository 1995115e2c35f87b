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
            .files.map(\.name)
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

    /// A page's roll-ups (placements, in sync, processing, failed) and creation times are the ones
    /// `desiredFileStatuses` computes file by file, for every state and with failures on placements in and out of sync.
    @Test(arguments: StateBackend.all) func pageRollUpsMatchTheStatuses(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let endpoints = ["openai|https://a.example/v1|env:A", "azure|https://b.example|env:B", "vertex|c|bucket=c|none"]
        let states: [PlacementStatus.State] = [.inSync, .outOfSync, .processing, .unknown]
        let names = (0..<12).map { "f\($0)" }
        var placements: [PlacementStatus] = []
        for (index, name) in names.enumerated() {
            // File i has i % 4 placements, each in a state picked by its position.
            for (slot, endpoint) in endpoints.prefix(index % 4).enumerated() {
                placements.append(
                    PlacementStatus(
                        file: name, endpointID: endpoint, models: ["m"], state: states[(index + slot) % states.count]))
            }
        }
        let files = names.map {
            DesiredFile(name: $0, sourcePath: "\($0).md", bytes: 1, purpose: "assistants", filename: "\($0).md", targetModels: ["m"])
        }
        try store.saveSnapshot(
            desired: DesiredState(files: files, models: []), digests: [:],
            plan: Plan(actions: [], placements: placements, endpoints: [], blocked: [], warnings: [], desiredFingerprint: "x"),
            at: 1_000)
        for (index, placement) in placements.enumerated() where index % 2 == 0 {
            try store.recordPlacementError(
                file: placement.file, endpointID: placement.endpointID, action: "create", message: "boom", at: 5)
        }
        for (index, name) in names.enumerated() where index % 3 == 0 {
            try store.recordOwned(
                OwnedFile(
                    endpointID: endpoints[0], remoteID: "file-\(name)", file: name, digest: "x", bytes: 1,
                    filename: "\(name).md", purpose: "assistants", createdAt: Int64(100 + index), deletionPolicy: .delete),
                closingIntent: nil, at: 1)
        }
        let expected = try store.desiredFileStatuses()
        #expect(expected.contains { $0.rollUp.failed > 0 } && expected.contains { $0.rollUp.processing > 0 })
        // Counted here from the inputs: the store keeps the counts by state in each file's row (SQLite) or counts
        // the placements when asked (PostgreSQL); either way they must be these. (Recording an owned copy clears
        // its placement's failure.)
        let owned = Set(names.indices.filter { $0 % 3 == 0 }.map { names[$0] })
        var counted: [String: PlacementRollUp] = [:]
        for (index, placement) in placements.enumerated() {
            var rollUp = counted[placement.file] ?? PlacementRollUp()
            rollUp.placements += 1
            if placement.state == .inSync { rollUp.inSync += 1 }
            if placement.state == .processing { rollUp.processing += 1 }
            let cleared = owned.contains(placement.file) && placement.endpointID == endpoints[0]
            if placement.state != .inSync, index % 2 == 0, !cleared { rollUp.failed += 1 }
            counted[placement.file] = rollUp
        }
        #expect(expected.map(\.rollUp) == expected.map { counted[$0.file.name] ?? PlacementRollUp() })
        for limit in [1, 5, 12] {
            var seen: [ListedFile] = []
            var after: String?
            while true {
                let (page, hasMore) = try #require(
                    try store.desiredFilePage(ascending: true, after: after, purpose: nil, limit: limit))
                seen += page
                guard hasMore else { break }
                after = page.last?.unifiedID
            }
            #expect(seen.sorted { $0.name < $1.name } == expected.map(\.listed))
        }

        // The next snapshot changes states: the roll-ups follow, on the pages too.
        let synced = placements.map { placement in
            var placement = placement
            placement.state = .inSync
            return placement
        }
        try store.saveSnapshot(
            desired: DesiredState(files: files, models: []), digests: [:],
            plan: Plan(actions: [], placements: synced, endpoints: [], blocked: [], warnings: [], desiredFingerprint: "x"),
            at: 2_000)
        let page = try #require(try store.desiredFilePage(ascending: true, after: nil, purpose: nil, limit: 100)).files
        #expect(page.count == names.count)
        for file in page {
            let total = placements.filter { $0.file == file.name }.count
            #expect(file.rollUp == PlacementRollUp(placements: total, inSync: total))
        }
    }
}
