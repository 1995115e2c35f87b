import FerryCore
import Foundation
import GRDB

extension SQLiteStateStore {
    public func startRun(command: String, at now: Double) throws -> Int64 {
        try writer.write { db in
            try db.execute(sql: "INSERT INTO runs (command, started_at) VALUES (?, ?)", arguments: [command, now])
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
                    applied: row["applied"], failed: row["failed"], requests: row["requests"])
            }
        }
    }
}
