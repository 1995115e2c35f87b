import GRDB

extension SQLiteStateStore {
    public func recordPlacementError(file: String, endpointID: String, action: String, message: String, at: Int64) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO placement_errors (file, endpoint_id, action, message, at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(file, endpoint_id) DO UPDATE SET action = excluded.action, message = excluded.message,
                        at = excluded.at, attempts = attempts + 1
                    """, arguments: [file, endpointID, action, message, at])
        }
    }

    public func clearPlacementError(file: String, endpointID: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM placement_errors WHERE file = ? AND endpoint_id = ?", arguments: [file, endpointID])
        }
    }

    public func placementErrors() throws -> [PlacementError] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM placement_errors ORDER BY file, endpoint_id").map { row in
                PlacementError(
                    file: row["file"], endpointID: row["endpoint_id"], action: row["action"], message: row["message"],
                    at: row["at"], attempts: row["attempts"])
            }
        }
    }
}
