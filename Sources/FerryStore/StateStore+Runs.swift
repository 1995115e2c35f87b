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
    public func saveSnapshot(desired: DesiredState, digests: [String: String], plan: Plan) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try writer.write { db in
            try db.execute(sql: "DELETE FROM desired_files")
            for file in desired.files {
                try db.execute(
                    sql: """
                        INSERT INTO desired_files (name, unified_id, source_path, bytes, digest, purpose, filename,
                            target_models, labels, deletion_policy, declared_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        file.name, file.unifiedID, file.sourcePath, file.bytes, digests[file.sourcePath] ?? "",
                        file.purpose, file.filename, String(decoding: try encoder.encode(file.targetModels), as: UTF8.self),
                        String(decoding: try encoder.encode(file.labels), as: UTF8.self), file.deletionPolicy.rawValue,
                        file.declaredBy,
                    ])
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES ('plan', ?, ?)",
                arguments: [String(decoding: try encoder.encode(plan), as: UTF8.self), Date().timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM placements")
            for status in plan.placements {
                try db.execute(
                    sql: """
                        INSERT INTO placements (file, endpoint_id, models, state, remote_id, pending_action, detail)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        status.file, status.endpointID, status.models.joined(separator: ","), status.state.rawValue,
                        status.remoteID, status.pendingAction?.rawValue, status.detail,
                    ])
            }
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
