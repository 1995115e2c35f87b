import FerryCore
import Foundation
import GRDB
import Testing

@testable import FerryStore

/// Migration v7 keeps each declared file's placement counts in its row. A database written before it gets them
/// counted from its placements when a writer opens it; a read-only opener (the status view) is told to let a writer
/// upgrade it first, instead of failing on every page.
@Suite("Placement counts kept with the declared files (migration v7)")
struct RollUpMigrationTests {
    /// A state file migrated up to v6, with three declared files and their placements written as v6 wrote them.
    static func databaseBeforeV7() throws -> String {
        let path = temporaryDatabasePath()
        let queue = try DatabaseQueue(path: path)
        try SQLiteStateStore.migrator.migrate(queue, upTo: "v6")
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = \(SQLiteStateStore.applicationID)")
            for name in ["a", "b", "c"] {
                try db.execute(
                    sql: """
                        INSERT INTO desired_files (name, unified_id, source_path, bytes, digest, purpose, filename,
                            target_models, labels, deletion_policy, declared_by)
                        VALUES (?, ?, ?, 1, 'x', 'assistants', ?, '["m"]', '{}', 'delete', 'files.yaml')
                        """, arguments: [name, UnifiedID.make(for: name), "\(name).md", "\(name).md"])
            }
            for (file, endpoint, state) in [
                ("a", "e1", "in-sync"), ("a", "e2", "in-sync"), ("b", "e1", "processing"), ("b", "e2", "out-of-sync"),
            ] {
                try db.execute(
                    sql: "INSERT INTO placements (file, endpoint_id, models, state) VALUES (?, ?, 'm', ?)",
                    arguments: [file, endpoint, state])
            }
            try db.execute(
                sql: "INSERT INTO placement_errors (file, endpoint_id, action, message, at) VALUES ('b', 'e2', 'create', 'boom', 1)")
        }
        try queue.close()
        return path
    }

    @Test func aWriterCountsThePlacementsOfAnOlderDatabase() throws {
        let path = try Self.databaseBeforeV7()
        let store = try SQLiteStateStore(path: path)
        #expect(try store.appliedMigrations().last == "v7")
        let page = try #require(try store.desiredFilePage(ascending: true, after: nil, purpose: nil, limit: 10)).files
        let rollUps = Dictionary(uniqueKeysWithValues: page.map { ($0.name, $0.rollUp) })
        #expect(rollUps["a"] == PlacementRollUp(placements: 2, inSync: 2))
        #expect(rollUps["b"] == PlacementRollUp(placements: 2, processing: 1, failed: 1))
        #expect(rollUps["c"] == PlacementRollUp())
        #expect(try store.desiredFileStatuses().map(\.rollUp) == ["a", "b", "c"].map { rollUps[$0]! })
        // Placements carry their declared file's unified id and file name.
        let placements = try store.placementRecords(file: nil, attentionFirst: false, limit: nil, after: nil)
        #expect(placements.map(\.status.unifiedID) == ["a", "a", "b", "b"].map { UnifiedID.make(for: $0) })
        #expect(placements.map(\.filename) == ["a.md", "a.md", "b.md", "b.md"])
        let stored = try DatabaseQueue(path: path).read {
            try String.fetchAll($0, sql: "SELECT unified_id FROM placements ORDER BY file, endpoint_id")
        }
        #expect(stored == ["a", "a", "b", "b"].map { UnifiedID.make(for: $0) })
    }

    @Test func aReadOnlyOpenerAsksForTheUpgrade() throws {
        let path = try Self.databaseBeforeV7()
        #expect {
            try SQLiteStateStore(path: path, readOnly: true)
        } throws: { error in
            (error as? StateStoreError)?.code == .olderVersion
                && "\(error)".contains("lacks migrations [\"v7\"]") && "\(error)".contains("run 'ferry plan'")
        }
        // Nothing was changed: a writer still finds v7 to apply.
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try SQLiteStateStore.migrator.appliedIdentifiers($0) }.contains("v7") == false)
    }

    /// Stored models are split at commas, byte by byte, as `split(separator: ",")` did character by character.
    @Test func storedModelsSplitAtCommas() {
        for text in ["", "gpt-4o", "gpt-4o,gpt-4o-mini", ",a,,b,", "modèle-é,ü", "a,b,c,d"] {
            #expect(PlacementRecord.models(stored: text) == text.split(separator: ",").map(String.init), "\(text)")
        }
    }
}
