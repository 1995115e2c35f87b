import FerryCore
import Foundation
import GRDB

/// One recorded run of plan, apply or reconcile.
public struct RunRecord: Hashable, Codable, Sendable {
    public var id: Int64
    public var command: String
    /// Unix seconds (fractional).
    public var startedAt: Double
    public var finishedAt: Double?
    /// `converged`, `applied`, `failed`, `not-converged`, `refused`, or nil while running.
    public var outcome: String?
    public var summary: String?
    public var applied: Int
    public var failed: Int
    public var requests: Int
}

// MARK: - Runs

extension StateStore {
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

    public func recentRuns(limit: Int = 20) throws -> [RunRecord] {
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

// MARK: - Lease

/// Who holds the writer lease.
public struct LeaseHolder: Hashable, Sendable {
    public var holder: String
    public var acquiredAt: Double
    public var expiresAt: Double
}

extension StateStore {
    /// Takes the named lease if it is free, expired, or already ours. Returns nil on success, or the current holder.
    /// Runs in an immediate transaction, so two processes cannot both succeed.
    /// - Parameter isAbandoned: says whether a live-looking holder is known to be gone (e.g. a dead process on
    ///   this host), so its lease can be taken before it expires.
    public func acquireLease(
        _ name: String = "writer", holder: String, ttl: Double, now: Double,
        isAbandoned: (LeaseHolder) -> Bool = { _ in false }
    ) throws -> LeaseHolder? {
        try writer.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM leases WHERE name = ?", arguments: [name]) {
                let current = LeaseHolder(holder: row["holder"], acquiredAt: row["acquired_at"], expiresAt: row["expires_at"])
                if current.holder != holder && current.expiresAt > now && !isAbandoned(current) { return current }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [name, holder, now, now + ttl])
            return nil
        }
    }

    /// Extends our lease; returns false if it was lost (expired and taken by someone else).
    public func renewLease(_ name: String = "writer", holder: String, ttl: Double, now: Double) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                arguments: [now + ttl, name, holder])
            return db.changesCount == 1
        }
    }

    public func releaseLease(_ name: String = "writer", holder: String) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM leases WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func leaseHolder(_ name: String = "writer") throws -> LeaseHolder? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM leases WHERE name = ?", arguments: [name]).map { row in
                LeaseHolder(holder: row["holder"], acquiredAt: row["acquired_at"], expiresAt: row["expires_at"])
            }
        }
    }
}

// MARK: - Status snapshot (read by the status view)

extension StateStore {
    /// Stores the desired files and placement statuses of the latest plan, for readers such as `ferry serve`.
    /// Only rows that changed are written: a converged run of 10,000 files rewrites nothing but the snapshot's time.
    /// A fingerprint of everything stored (`SnapshotFingerprint`), kept next to the plan in the same transaction,
    /// lets an unchanged snapshot be recognised without encoding the plan or reading the stored rows back.
    public func saveSnapshot(desired: DesiredState, digests: [String: String], plan: Plan) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Most files share their models and labels: encode each distinct value once.
        var encodedModels: [[String]: String] = [:]
        var encodedLabels: [[String: String]: String] = [:]
        var fingerprint = SnapshotFingerprint()
        let usable = fingerprint.add(plan)
        var desiredRowList: [(name: String, row: [DatabaseValue])] = []
        desiredRowList.reserveCapacity(desired.files.count)
        for file in desired.files {
            let models: String
            if let known = encodedModels[file.targetModels] {
                models = known
            } else {
                models = String(decoding: try encoder.encode(file.targetModels), as: UTF8.self)
                encodedModels[file.targetModels] = models
            }
            let labels: String
            if let known = encodedLabels[file.labels] {
                labels = known
            } else {
                labels = String(decoding: try encoder.encode(file.labels), as: UTF8.self)
                encodedLabels[file.labels] = labels
            }
            let values: [any DatabaseValueConvertible] = [
                file.name, file.unifiedID, file.sourcePath, file.bytes, digests[file.sourcePath] ?? "",
                file.purpose, file.filename, models, labels, file.deletionPolicy.rawValue, file.declaredBy,
            ]
            let row = values.map(\.databaseValue)
            fingerprint.add(row: row)
            desiredRowList.append((file.name, row))
        }
        // The placement rows derive from `plan.placements` alone (already in the fingerprint): built only when the
        // snapshot changed. (Change `SnapshotFingerprint.version` when their derivation changes.)
        let digest = usable ? fingerprint.hexDigest() : nil
        try writer.write { db in
            let now = Date().timeIntervalSince1970
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
                try db.execute(
                    sql: "UPDATE snapshots SET updated_at = ? WHERE name IN ('plan', 'plan-fingerprint')", arguments: [now])
                return
            }
            var desiredRows: [String: [DatabaseValue]] = [:]
            for (name, row) in desiredRowList { desiredRows[name] = row }
            var placementRows: [PlacementKey: [DatabaseValue]] = [:]
            for status in plan.placements {
                placementRows[PlacementKey(file: status.file, endpointID: status.endpointID)] = [
                    status.file.databaseValue, status.endpointID.databaseValue,
                    status.models.joined(separator: ",").databaseValue, status.state.rawValue.databaseValue,
                    status.remoteID.databaseValue, status.pendingAction?.rawValue.databaseValue ?? .null,
                    status.detail.databaseValue,
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

            // desired_files: delete the rows that went away, write the ones that are new or differ.
            let insertDesired = try db.makeStatement(
                sql: """
                    INSERT OR REPLACE INTO desired_files (name, unified_id, source_path, bytes, digest, purpose, filename,
                        target_models, labels, deletion_policy, declared_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let deleteDesired = try db.makeStatement(sql: "DELETE FROM desired_files WHERE name = ?")
            var staleDesired: [String] = []
            let storedDesired = try Row.fetchCursor(
                db,
                sql: """
                    SELECT name, unified_id, source_path, bytes, digest, purpose, filename, target_models, labels,
                        deletion_policy, declared_by FROM desired_files
                    """)
            while let row = try storedDesired.next() {
                let name: String = row[0]
                if let wanted = desiredRows[name], wanted == Array(row.databaseValues) {
                    desiredRows[name] = nil
                } else if desiredRows[name] == nil {
                    staleDesired.append(name)
                }
            }
            for name in staleDesired { try deleteDesired.execute(arguments: [name]) }
            for (_, values) in desiredRows { try insertDesired.execute(arguments: StatementArguments(values)) }

            let planJSON = String(decoding: try encoder.encode(plan), as: UTF8.self)
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES ('plan', ?, ?)",
                arguments: [planJSON, now])

            // placements: the same, keyed by (file, endpoint).
            let insertPlacement = try db.makeStatement(
                sql: """
                    INSERT OR REPLACE INTO placements (file, endpoint_id, models, state, remote_id, pending_action, detail)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            let deletePlacement = try db.makeStatement(sql: "DELETE FROM placements WHERE file = ? AND endpoint_id = ?")
            var stalePlacements: [PlacementKey] = []
            let storedPlacements = try Row.fetchCursor(
                db, sql: "SELECT file, endpoint_id, models, state, remote_id, pending_action, detail FROM placements")
            while let row = try storedPlacements.next() {
                let key = PlacementKey(file: row[0], endpointID: row[1])
                if let wanted = placementRows[key], wanted == Array(row.databaseValues) {
                    placementRows[key] = nil
                } else if placementRows[key] == nil {
                    stalePlacements.append(key)
                }
            }
            for key in stalePlacements { try deletePlacement.execute(arguments: [key.file, key.endpointID]) }
            for (_, values) in placementRows { try insertPlacement.execute(arguments: StatementArguments(values)) }
        }
    }

    /// The latest plan, as stored by `saveSnapshot`.
    public func latestPlan() throws -> (plan: Plan, at: Double)? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT json, updated_at FROM snapshots WHERE name = 'plan'") else {
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
                    models: models.split(separator: ",").map(String.init),
                    state: PlacementStatus.State(rawValue: row["state"]) ?? .unknown, remoteID: row["remote_id"],
                    pendingAction: (row["pending_action"] as String?).flatMap(PlannedAction.Kind.init(rawValue:)),
                    detail: row["detail"])
            }
        }
    }
}

// MARK: - Request statistics (for /metrics)

/// Accumulated provider requests of one operation on one endpoint, across runs.
public struct RequestStatsRow: Hashable, Codable, Sendable {
    public var endpointID: String
    public var operation: String
    public var requests: Int
    public var failures: Int
    public var retries: Int
    public var latencySeconds: Double

    public init(endpointID: String, operation: String, requests: Int, failures: Int, retries: Int, latencySeconds: Double) {
        self.endpointID = endpointID
        self.operation = operation
        self.requests = requests
        self.failures = failures
        self.retries = retries
        self.latencySeconds = latencySeconds
    }
}

extension StateStore {
    /// Adds a run's request counts to the totals.
    public func addRequestStats(_ rows: [RequestStatsRow]) throws {
        guard !rows.isEmpty else { return }
        try writer.write { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO request_stats (endpoint_id, operation, requests, failures, retries, latency_seconds)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT(endpoint_id, operation) DO UPDATE SET requests = requests + excluded.requests,
                            failures = failures + excluded.failures, retries = retries + excluded.retries,
                            latency_seconds = latency_seconds + excluded.latency_seconds
                        """,
                    arguments: [row.endpointID, row.operation, row.requests, row.failures, row.retries, row.latencySeconds])
            }
        }
    }

    public func requestStats() throws -> [RequestStatsRow] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM request_stats ORDER BY endpoint_id, operation").map { row in
                RequestStatsRow(
                    endpointID: row["endpoint_id"], operation: row["operation"], requests: row["requests"],
                    failures: row["failures"], retries: row["retries"], latencySeconds: row["latency_seconds"])
            }
        }
    }
}
