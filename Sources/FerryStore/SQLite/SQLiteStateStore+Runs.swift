import FerryCore
import Foundation
import GRDB

extension SQLiteStateStore {
    public func startRun(command: String, revision: String?, at now: Double) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: "INSERT INTO runs (command, started_at, revision) VALUES (?, ?, ?)",
                arguments: [command, now, revision])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(
        _ id: Int64, outcome: String, summary: String, applied: Int, failed: Int, requests: Int, at now: Double
    ) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE runs SET finished_at = ?, outcome = ?, summary = ?, applied = ?, failed = ?, requests = ?
                    WHERE id = ?
                    """, arguments: [now, outcome, summary, applied, failed, requests, id])
            // Keep history bounded.
            try db.execute(sql: "DELETE FROM runs WHERE id <= ?", arguments: [id - 1000])
        }
    }

    public func recordEvent(
        run: Int64, level: String, file: String?, endpointID: String?, action: String?, message: String, at now: Double
    ) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO run_events (run_id, at, level, file, endpoint_id, action, message)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [run, now, level, file, endpointID, action, message])
        }
    }

    public func recentRuns(limit: Int) throws -> [RunRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                RunRecord(
                    id: row["id"], command: row["command"], startedAt: row["started_at"],
                    finishedAt: row["finished_at"], outcome: row["outcome"], summary: row["summary"],
                    applied: row["applied"], failed: row["failed"], requests: row["requests"], revision: row["revision"])
            }
        }
    }

    public func moveOwned(
        endpointID: String, remoteID: String, to newName: String, unifiedID newUnifiedID: String, at now: Int64
    ) throws {
        try writer.write { db in
            guard
                let old = try Row.fetchOne(
                    db, sql: "SELECT file, unified_id FROM owned_files WHERE endpoint_id = ? AND remote_id = ?",
                    arguments: [endpointID, remoteID])
            else { return }
            let oldName: String = old["file"]
            let oldUnifiedID: String = old["unified_id"]
            try db.execute(
                sql: "UPDATE owned_files SET file = ?, unified_id = ? WHERE endpoint_id = ? AND remote_id = ?",
                arguments: [newName, newUnifiedID, endpointID, remoteID])
            guard oldUnifiedID != newUnifiedID else { return }
            try db.execute(
                sql: """
                    INSERT INTO moved_files (old_unified_id, old_name, new_name, new_unified_id, moved_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (old_unified_id) DO UPDATE SET
                        new_name = excluded.new_name, new_unified_id = excluded.new_unified_id, moved_at = excluded.moved_at
                    """, arguments: [oldUnifiedID, oldName, newName, newUnifiedID, now])
            // A name that comes back is no longer moved.
            try db.execute(sql: "DELETE FROM moved_files WHERE old_unified_id = ?", arguments: [newUnifiedID])
        }
    }

    public func setDeletionPolicy(endpointID: String, file: String, policy: DeletionPolicy) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE owned_files SET deletion_policy = ? WHERE endpoint_id = ? AND file = ?",
                arguments: [policy.rawValue, endpointID, file])
        }
    }

    public func movedFile(unifiedID: String) throws -> MovedFile? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM moved_files WHERE old_unified_id = ?", arguments: [unifiedID]).map {
                MovedFile(
                    oldUnifiedID: $0["old_unified_id"], oldName: $0["old_name"], newName: $0["new_name"],
                    newUnifiedID: $0["new_unified_id"], movedAt: $0["moved_at"])
            }
        }
    }
}
