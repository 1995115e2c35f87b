import FerryCore
import Foundation
import GRDB

// The status snapshot of the latest plan, read by the status view (`ferry serve`).

extension SQLiteStateStore {
    /// Stores the desired files and placement statuses of the latest plan, for readers such as `ferry serve`.
    /// Only rows that changed are written: a converged run of 10,000 files rewrites nothing but the snapshot's time.
    /// A fingerprint of everything stored (`SnapshotFingerprint`), kept next to the plan in the same transaction,
    /// lets an unchanged snapshot be recognised without encoding the plan or reading the stored rows back.
    public func saveSnapshot(desired: DesiredState, digests: [String: String], plan: Plan, at now: Double) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var encodedModels = EncodedOnce<[String]>(encoder: encoder)
        var encodedLabels = EncodedOnce<[String: String]>(encoder: encoder)
        var fingerprint = SnapshotFingerprint()
        let usable = fingerprint.add(plan: plan)
        // Each declared file's row is made twice when the snapshot changed (here, then again to be written), rather
        // than kept: 100,000 rows held while a converged pass checks its fingerprint were 32 MB of its peak.
        func desiredRow(_ file: DesiredFile) throws -> [DatabaseValue] {
            SnapshotFingerprint.desiredRow(
                file, digest: digests[file.sourcePath] ?? "", models: try encodedModels.text(file.targetModels),
                labels: try encodedLabels.text(file.labels))
        }
        // By index: `for file in` would copy each declared file (retaining and releasing its strings).
        let files = desired.files
        for index in files.indices { fingerprint.add(row: try desiredRow(files[index])) }
        // The placement rows, and the declared files' placement counts, derive from `plan.placements` alone (already
        // in the fingerprint): built only when the snapshot changed. (Change `SnapshotFingerprint.version` when their
        // derivation changes.)
        let digest = usable ? fingerprint.hexDigest() : nil
        try writer.write { db in
            // The fingerprint counts only if it was written with the stored plan (same time: a version of Ferry that
            // does not know fingerprints would have rewritten the plan alone) and the row counts still agree.
            if let digest,
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT f.json = ? AND f.updated_at = p.updated_at FROM snapshots f, snapshots p
                        WHERE f.name = 'plan-fingerprint' AND p.name = 'plan'
                        """, arguments: [digest]) == true,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM desired_files") == desired.files.count,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM placements") == plan.placements.count
            {
                // Confirmed, not rewritten: the plan row holds the whole plan (megabytes at 10,000 files), and an
                // UPDATE of its time would copy all of it into the write-ahead log on every converged pass.
                try db.execute(
                    sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES ('plan-confirmed', '', ?)",
                    arguments: [now])
                return
            }
            var desiredRows: [String: [DatabaseValue]] = [:]
            let rollUps = Self.rollUps(plan.placements)
            for file in desired.files {
                let counts = rollUps[file.name] ?? PlacementRollUp()
                desiredRows[file.name] =
                    try desiredRow(file)
                    + [counts.placements.databaseValue, counts.inSync.databaseValue, counts.processing.databaseValue]
            }
            var placementRows: [PlacementKey: [DatabaseValue]] = [:]
            let filenames = Dictionary(desired.files.map { ($0.name, $0.filename) }, uniquingKeysWith: { a, _ in a })
            for status in plan.placements {
                placementRows[PlacementKey(file: status.file, endpointID: status.endpointID)] = [
                    status.file.databaseValue, status.endpointID.databaseValue,
                    status.models.joined(separator: ",").databaseValue, status.state.rawValue.databaseValue,
                    status.remoteID.databaseValue, status.pendingAction?.rawValue.databaseValue ?? .null,
                    status.detail.databaseValue, status.unifiedID.databaseValue,
                    filenames[status.file].databaseValue,
                ]
            }
            // Written first: should anything below fail, the transaction rolls back with it.
            if let digest {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES ('plan-fingerprint', ?, ?)",
                    arguments: [digest, now])
            } else {
                try db.execute(sql: "DELETE FROM snapshots WHERE name = 'plan-fingerprint'")
            }
            try db.execute(sql: "DELETE FROM snapshots WHERE name = 'plan-confirmed'")

            try Self.replaceRows(
                db, table: "desired_files",
                columns: [
                    "name", "unified_id", "source_path", "bytes", "digest", "purpose", "filename", "target_models",
                    "labels", "deletion_policy", "declared_by", "placements", "placements_in_sync",
                    "placements_processing",
                ],
                keyColumns: 1, wanted: consume desiredRows, key: { row in row[0] as String })

            let planJSON = String(decoding: try encoder.encode(plan), as: UTF8.self)
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES ('plan', ?, ?)",
                arguments: [planJSON, now])

            try Self.replaceRows(
                db, table: "placements",
                columns: [
                    "file", "endpoint_id", "models", "state", "remote_id", "pending_action", "detail", "unified_id",
                    "filename",
                ],
                keyColumns: 2, wanted: consume placementRows,
                key: { row in PlacementKey(file: row[0], endpointID: row[1]) })
        }
    }

    /// The placements of every file that has any, counted by state as `desired_files` keeps them (migration v7;
    /// failures are not kept there, they change between snapshots).
    static func rollUps(_ statuses: [PlacementStatus]) -> [String: PlacementRollUp] {
        var rollUps: [String: PlacementRollUp] = [:]
        for status in statuses {
            rollUps[status.file, default: PlacementRollUp()]
                .count(placementState: status.state.rawValue, lastAttemptFailed: false)
        }
        return rollUps
    }

    /// Makes `table` hold exactly the `wanted` rows: deletes stored rows whose key is not wanted, writes the wanted
    /// rows that are new or differ, and leaves equal rows untouched. The first `keyColumns` columns are the key.
    private static func replaceRows<Key: Hashable>(
        _ db: Database, table: String, columns: [String], keyColumns: Int, wanted: consuming [Key: [DatabaseValue]],
        key: (Row) -> Key
    ) throws {
        let list = columns.joined(separator: ", ")
        let placeholders = columns.map { _ in "?" }.joined(separator: ", ")
        let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO \(table) (\(list)) VALUES (\(placeholders))")
        let keyMatch = columns.prefix(keyColumns).map { "\($0) = ?" }.joined(separator: " AND ")
        let delete = try db.makeStatement(sql: "DELETE FROM \(table) WHERE \(keyMatch)")
        var stale: [[DatabaseValue]] = []
        let stored = try Row.fetchCursor(db, sql: "SELECT \(list) FROM \(table)")
        while let row = try stored.next() {
            let rowKey = key(row)
            if let values = wanted[rowKey], values == Array(row.databaseValues) {
                wanted[rowKey] = nil
            } else if wanted[rowKey] == nil {
                stale.append(Array(row.databaseValues.prefix(keyColumns)))
            }
        }
        for keyValues in stale { try delete.execute(arguments: StatementArguments(keyValues)) }
        for (_, values) in wanted { try insert.execute(arguments: StatementArguments(values)) }
    }

    /// When the latest snapshot was saved or last found unchanged (`plan-confirmed`), as a column of the `plan` row.
    static let snapshotTime = """
        MAX(updated_at, COALESCE((SELECT c.updated_at FROM snapshots c WHERE c.name = 'plan-confirmed'), 0))
        """

    /// The latest plan, as stored by `saveSnapshot`.
    public func latestPlan() throws -> (plan: Plan, at: Double)? {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT json, \(Self.snapshotTime) AS updated_at FROM snapshots WHERE name = 'plan'")
            else {
                return nil
            }
            let json: String = row["json"]
            guard let plan = try? JSONDecoder().decode(Plan.self, from: Data(json.utf8)) else { return nil }
            return (plan, row["updated_at"])
        }
    }

    /// Placement statuses from the latest snapshot.
    public func placementStatuses() throws -> [PlacementStatus] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM placements ORDER BY file, endpoint_id").map { row in
                let models: String = row["models"]
                return PlacementStatus(
                    file: row["file"], endpointID: row["endpoint_id"],
                    models: PlacementRecord.models(stored: models),
                    state: PlacementStatus.State(rawValue: row["state"]) ?? .unknown, remoteID: row["remote_id"],
                    pendingAction: (row["pending_action"] as String?).flatMap(PlannedAction.Kind.init(rawValue:)),
                    detail: row["detail"])
            }
        }
    }
}
