import FerryCore
import Foundation
import GRDB
import PostgresNIO

// The status snapshot and the status view's read-only queries.

extension PostgresStateStore {
    // MARK: Snapshot

    public func saveSnapshot(desired: DesiredState, digests: [String: String], plan: Plan, at now: Double) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var encodedModels = EncodedOnce<[String]>(encoder: encoder)
        var encodedLabels = EncodedOnce<[String: String]>(encoder: encoder)
        // The same fingerprint as SQLite's (`SnapshotFingerprint`): an unchanged snapshot only has its time updated.
        var fingerprint = SnapshotFingerprint()
        let usable = fingerprint.add(plan: plan)
        var columns = Array(repeating: [String](), count: 11)
        var sizes: [Int64] = []
        for file in desired.files {
            let models = try encodedModels.text(file.targetModels)
            let labels = try encodedLabels.text(file.labels)
            let digest = digests[file.sourcePath] ?? ""
            fingerprint.add(row: SnapshotFingerprint.desiredRow(file, digest: digest, models: models, labels: labels))
            let texts = [
                file.name, file.unifiedID, file.sourcePath, "", digest, file.purpose, file.filename, models, labels,
                file.deletionPolicy.rawValue, file.declaredBy,
            ]
            for (index, text) in texts.enumerated() { columns[index].append(text) }
            sizes.append(file.bytes)
        }
        let digest = usable ? fingerprint.hexDigest() : nil
        try session.transaction { connection in
            if let digest,
                try connection.query(
                    """
                    SELECT f.json = $2 AND f.updated_at = p.updated_at
                        AND (SELECT COUNT(*) FROM desired_files WHERE workspace = $1) = $3
                        AND (SELECT COUNT(*) FROM placements WHERE workspace = $1) = $4
                    FROM snapshots f, snapshots p
                    WHERE f.workspace = $1 AND p.workspace = $1 AND f.name = 'plan-fingerprint' AND p.name = 'plan'
                    """, binds(workspace, digest, desired.files.count, plan.placements.count)
                ).first?.get(0, as: Bool.self) == true
            {
                try connection.execute(
                    "UPDATE snapshots SET updated_at = $2 WHERE workspace = $1 AND name IN ('plan', 'plan-fingerprint')",
                    binds(workspace, now))
                return
            }
            if let digest {
                try upsertSnapshot(connection, name: "plan-fingerprint", json: digest, at: now)
            } else {
                try connection.execute(
                    "DELETE FROM snapshots WHERE workspace = $1 AND name = 'plan-fingerprint'", binds(workspace))
            }
            try connection.execute("DELETE FROM desired_files WHERE workspace = $1", binds(workspace))
            if !sizes.isEmpty {
                try connection.execute(
                    """
                    INSERT INTO desired_files (workspace, name, unified_id, source_path, bytes, digest, purpose,
                        filename, target_models, labels, deletion_policy, declared_by)
                    SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
                    """,
                    binds(
                        workspace, columns[0], columns[1], columns[2], sizes, columns[4], columns[5], columns[6],
                        columns[7], columns[8], columns[9], columns[10]))
            }
            try upsertSnapshot(
                connection, name: "plan", json: String(decoding: try encoder.encode(plan), as: UTF8.self), at: now)
            try connection.execute("DELETE FROM placements WHERE workspace = $1", binds(workspace))
            let placements = plan.placements
            if !placements.isEmpty {
                try connection.execute(
                    """
                    INSERT INTO placements (workspace, file, endpoint_id, models, state, remote_id, pending_action,
                        detail)
                    SELECT $1, f, e, m, s, CASE WHEN rn THEN NULL ELSE r END, CASE WHEN an THEN NULL ELSE a END,
                        CASE WHEN dn THEN NULL ELSE d END
                    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[],
                        $9::bool[], $10::text[], $11::bool[]) AS t(f, e, m, s, r, rn, a, an, d, dn)
                    """,
                    binds(
                        workspace, placements.map(\.file), placements.map(\.endpointID),
                        placements.map { $0.models.joined(separator: ",") }, placements.map(\.state.rawValue),
                        placements.map { $0.remoteID ?? "" }, placements.map { $0.remoteID == nil },
                        placements.map { $0.pendingAction?.rawValue ?? "" }, placements.map { $0.pendingAction == nil },
                        placements.map { $0.detail ?? "" }, placements.map { $0.detail == nil }))
            }
        }
    }

    private func upsertSnapshot(_ connection: PostgresSession.Connection, name: String, json: String, at: Double) throws {
        try connection.execute(
            """
            INSERT INTO snapshots (workspace, name, json, updated_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (workspace, name) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at
            """, binds(workspace, name, json, at))
    }

    public func latestPlan() throws -> (plan: Plan, at: Double)? {
        guard let (json, at) = try latestPlanJSON(),
            let plan = try? JSONDecoder().decode(Plan.self, from: Data(json.utf8))
        else { return nil }
        return (plan, at)
    }

    public func latestPlanJSON() throws -> (json: String, at: Double)? {
        try session.withConnection { connection in
            try connection.query(
                "SELECT json, updated_at FROM snapshots WHERE workspace = $1 AND name = 'plan'", binds(workspace)
            ).first.map { row in (try row.get(0), try row.get(1)) }
        }
    }

    /// Only the time: the plan row's JSON is the whole plan (megabytes at 10,000 files), and the status view asks for
    /// this time on every list request.
    public func snapshotUpdatedAt() throws -> Double? {
        try session.withConnection { connection in
            try connection.query(
                "SELECT updated_at FROM snapshots WHERE workspace = $1 AND name = 'plan'", binds(workspace)
            ).first?.get(0)
        }
    }

    public func placementStatuses() throws -> [PlacementStatus] {
        try placementRecords(file: nil, attentionFirst: false, limit: nil).map(\.status)
    }

    // MARK: Status view

    static let desiredColumns = """
        d.name, d.unified_id, d.source_path, d.bytes, d.digest, d.purpose, d.filename, d.target_models, d.labels,
        d.deletion_policy, d.declared_by
        """

    static func desiredRecord(_ row: PostgresRow, decoder: JSONDecoder) throws -> DesiredFileRecord {
        let models: String = try row.get(7)
        let labels: String = try row.get(8)
        return DesiredFileRecord(
            name: try row.get(0), unifiedID: try row.get(1), sourcePath: try row.get(2), bytes: try row.get(3),
            digest: try row.get(4), purpose: try row.get(5), filename: try row.get(6),
            targetModels: SQLiteStateStore.quotedStrings(models)
                ?? (try? decoder.decode([String].self, from: Data(models.utf8))) ?? [],
            labels: SQLiteStateStore.quotedStrings(labels).flatMap(SQLiteStateStore.pairs)
                ?? (try? decoder.decode([String: String].self, from: Data(labels.utf8))) ?? [:],
            deletionPolicy: try row.get(9), declaredBy: try row.get(10))
    }

    private static let fileStatusSQL = """
        SELECT \(desiredColumns),
            (SELECT MIN(o.created_at) FROM owned_files o WHERE o.workspace = d.workspace AND o.file = d.name),
            (SELECT COUNT(*) FROM placements p WHERE p.workspace = d.workspace AND p.file = d.name),
            (SELECT COUNT(*) FROM placements p WHERE p.workspace = d.workspace AND p.file = d.name
                AND p.state = 'in-sync'),
            (SELECT COUNT(*) FROM placements p WHERE p.workspace = d.workspace AND p.file = d.name
                AND p.state = 'processing'),
            (SELECT COUNT(*) FROM placement_errors e JOIN placements p
                ON p.workspace = e.workspace AND p.file = e.file AND p.endpoint_id = e.endpoint_id
                WHERE e.workspace = d.workspace AND e.file = d.name AND p.state != 'in-sync')
        FROM desired_files d WHERE d.workspace = $1
        """

    private static func fileStatus(_ row: PostgresRow, decoder: JSONDecoder) throws -> DesiredFileStatus {
        DesiredFileStatus(
            file: try desiredRecord(row, decoder: decoder), firstCreatedAt: try row.get(11),
            rollUp: PlacementRollUp(
                placements: try row.get(12), inSync: try row.get(13), processing: try row.get(14),
                failed: try row.get(15)))
    }

    public func desiredFiles() throws -> [DesiredFileRecord] {
        try session.withConnection { connection in
            let decoder = JSONDecoder()
            return try connection.query(
                "SELECT \(Self.desiredColumns) FROM desired_files d WHERE d.workspace = $1 ORDER BY d.name",
                binds(workspace)
            ).map { try Self.desiredRecord($0, decoder: decoder) }
        }
    }

    public func desiredFileCount() throws -> Int {
        try session.withConnection { connection in
            try connection.query("SELECT COUNT(*) FROM desired_files WHERE workspace = $1", binds(workspace))
                .first?.get(0) ?? 0
        }
    }

    public func desiredFileStatuses() throws -> [DesiredFileStatus] {
        try session.withConnection { connection in
            let decoder = JSONDecoder()
            return try connection.query(Self.fileStatusSQL + " ORDER BY d.name", binds(workspace))
                .map { try Self.fileStatus($0, decoder: decoder) }
        }
    }

    public func desiredFileStatus(unifiedID: String) throws -> DesiredFileStatus? {
        try session.withConnection { connection in
            try connection.query(Self.fileStatusSQL + " AND d.unified_id = $2", binds(workspace, unifiedID))
                .first.map { try Self.fileStatus($0, decoder: JSONDecoder()) }
        }
    }

    public func desiredFilePage(
        ascending: Bool, after: String?, purpose: String?, limit: Int
    ) throws -> (files: [ListedFile], hasMore: Bool)? {
        try session.withConnection { connection in
            // An index walk: `first_created_at` is kept by triggers (migration v3), with files not uploaded yet last.
            var conditions = ["d.workspace = $1"]
            var values: [any PostgresBindable] = [workspace]
            if let purpose {
                values.append(purpose)
                conditions.append("d.purpose = $\(values.count)")
            }
            if let after {
                guard
                    let row = try connection.query(
                        "SELECT first_created_at FROM desired_files WHERE workspace = $1 AND unified_id = $2",
                        binds(workspace, after)
                    ).first
                else { return nil }
                values.append(try row.get(0, as: Int64.self))
                values.append(after)
                conditions.append(
                    "(d.first_created_at, d.unified_id) \(ascending ? ">" : "<") ($\(values.count - 1), $\(values.count))")
            }
            let direction = ascending ? "ASC" : "DESC"
            values.append(limit + 1)
            // The page's files (only the columns a file object shows) with their kept creation time, then the states
            // of their placements, counted here (instead of five correlated subqueries per file).
            let sql = "SELECT d.name, d.unified_id, d.bytes, d.purpose, d.filename, "
                + "NULLIF(d.first_created_at, 9223372036854775807) "
                + "FROM desired_files d WHERE " + conditions.joined(separator: " AND ")
                + " ORDER BY d.first_created_at \(direction), d.unified_id \(direction) LIMIT $\(values.count)"
            var bindings = PostgresBindings()
            for value in values { value.bind(into: &bindings) }
            var files: [ListedFile] = []
            var index: [String: Int] = [:]
            for row in try connection.query(sql, bindings) {
                let file = ListedFile(
                    name: try row.get(0), unifiedID: try row.get(1), bytes: try row.get(2), purpose: try row.get(3),
                    filename: try row.get(4), firstCreatedAt: try row.get(5))
                index[file.name] = files.count
                files.append(file)
            }
            let hasMore = files.count > limit
            if hasMore { files.removeLast(files.count - limit) }
            guard !files.isEmpty else { return (files, hasMore) }
            let placements = try connection.query(
                """
                SELECT p.file, p.state, e.file IS NOT NULL FROM placements p
                LEFT JOIN placement_errors e
                    ON e.workspace = p.workspace AND e.file = p.file AND e.endpoint_id = p.endpoint_id
                WHERE p.workspace = $1 AND p.file = ANY($2)
                """, binds(workspace, files.map(\.name)))
            for row in placements {
                guard let position = index[try row.get(0, as: String.self)] else { continue }
                files[position].rollUp.count(placementState: try row.get(1), lastAttemptFailed: try row.get(2))
            }
            return (files, hasMore)
        }
    }

    public func placementRecords(file: String?, attentionFirst: Bool, limit: Int?, after: PlacementKey?) throws
        -> [PlacementRecord]
    {
        try session.withConnection { connection in
            var sql = """
                SELECT p.file, p.endpoint_id, p.models, p.state, p.remote_id, p.pending_action, p.detail,
                    e.action, e.message, e.at, e.attempts, d.filename, o.expires_at
                FROM placements p
                LEFT JOIN placement_errors e
                    ON e.workspace = p.workspace AND e.file = p.file AND e.endpoint_id = p.endpoint_id
                LEFT JOIN desired_files d ON d.workspace = p.workspace AND d.name = p.file
                LEFT JOIN observed_files o
                    ON o.workspace = p.workspace AND o.endpoint_id = p.endpoint_id AND o.remote_id = p.remote_id
                WHERE p.workspace = $1 AND ($2::text IS NULL OR p.file = $2)
                """
            let cursor = attentionFirst ? nil : after
            if cursor != nil { sql += " AND (p.file, p.endpoint_id) > ($4, $5)" }
            if attentionFirst {
                sql += """
                     ORDER BY CASE
                        WHEN p.state != 'in-sync' AND e.file IS NOT NULL THEN 0
                        WHEN p.state = 'out-of-sync' THEN 1
                        WHEN p.state = 'unknown' THEN 2
                        WHEN p.state = 'processing' THEN 3
                        ELSE 4 END, p.file, p.endpoint_id
                    """
            } else {
                sql += " ORDER BY p.file, p.endpoint_id"
            }
            sql += " LIMIT $3"
            let arguments =
                cursor.map { binds(workspace, file, limit.map(Int64.init), $0.file, $0.endpointID) }
                ?? binds(workspace, file, limit.map(Int64.init))
            return try connection.query(sql, arguments).map { row in
                let models: String = try row.get(2)
                let status = PlacementStatus(
                    file: try row.get(0), endpointID: try row.get(1), models: PlacementRecord.models(stored: models),
                    state: PlacementStatus.State(rawValue: try row.get(3, as: String.self)) ?? .unknown,
                    remoteID: try row.get(4),
                    pendingAction: try row.get(5, as: String?.self).flatMap(PlannedAction.Kind.init(rawValue:)),
                    detail: try row.get(6))
                var error: PlacementError?
                if let message = try row.get(8, as: String?.self) {
                    error = PlacementError(
                        file: status.file, endpointID: status.endpointID, action: try row.get(7), message: message,
                        at: try row.get(9), attempts: try row.get(10))
                }
                return PlacementRecord(
                    status: status, error: error, filename: try row.get(11), expiresAt: try row.get(12, as: Int64?.self))
            }
        }
    }

    public func placementStateCounts() throws -> [String: Int] {
        try session.withConnection { connection in
            var counts: [String: Int] = [:]
            for row in try connection.query(
                """
                SELECT CASE WHEN p.state != 'in-sync' AND e.file IS NOT NULL THEN 'failed' ELSE p.state END AS s,
                    COUNT(*)
                FROM placements p LEFT JOIN placement_errors e
                    ON e.workspace = p.workspace AND e.file = p.file AND e.endpoint_id = p.endpoint_id
                WHERE p.workspace = $1 GROUP BY s
                """, binds(workspace))
            {
                counts[try row.get(0)] = try row.get(1)
            }
            return counts
        }
    }

    public func endpointRecords() throws -> [EndpointRecord] {
        try session.withConnection { connection in
            try connection.query(
                """
                SELECT n.id, n.kind, n.display_name, n.base_url, n.observed_at, n.listed, n.pages, n.error,
                    n.last_success_at,
                    (SELECT COUNT(*) FROM owned_files o WHERE o.workspace = n.workspace AND o.endpoint_id = n.id),
                    (SELECT COUNT(*) FROM observed_files f WHERE f.workspace = n.workspace AND f.endpoint_id = n.id
                        AND NOT EXISTS (SELECT 1 FROM owned_files o WHERE o.workspace = f.workspace
                            AND o.endpoint_id = f.endpoint_id AND o.remote_id = f.remote_id))
                FROM endpoints n WHERE n.workspace = $1 ORDER BY n.id
                """, binds(workspace)
            ).map { row in
                EndpointRecord(
                    id: try row.get(0), kind: try row.get(1), displayName: try row.get(2), baseURL: try row.get(3),
                    observedAt: try row.get(4), listed: try row.get(5), pages: try row.get(6), error: try row.get(7),
                    lastSuccessAt: try row.get(8), owned: try row.get(9), unmanaged: try row.get(10))
            }
        }
    }

    public func lastSuccessfulObservation() throws -> Int64? {
        try session.withConnection { connection in
            try connection.query("SELECT MAX(last_success_at) FROM endpoints WHERE workspace = $1", binds(workspace))
                .first?.get(0, as: Int64?.self)
        }
    }

    public func runTotals() throws -> RunTotals {
        try session.withConnection { connection in
            guard
                let row = try connection.query(
                    """
                    SELECT COUNT(*), COALESCE(SUM(applied), 0)::bigint, COALESCE(SUM(failed), 0)::bigint,
                        (SELECT MAX(finished_at) FROM runs WHERE workspace = $1 AND outcome = 'converged')
                    FROM runs WHERE workspace = $1
                    """, binds(workspace)
                ).first
            else { return RunTotals(runs: 0, applied: 0, failed: 0, lastConvergedAt: nil) }
            return RunTotals(
                runs: try row.get(0), applied: try row.get(1), failed: try row.get(2), lastConvergedAt: try row.get(3))
        }
    }

    public func ownedFiles(file: String) throws -> [OwnedFile] {
        try session.withConnection { connection in
            try connection.query(
                """
                SELECT \(Self.ownedColumns) FROM owned_files WHERE workspace = $1 AND file = $2
                ORDER BY created_at DESC, remote_id DESC
                """, binds(workspace, file)
            ).map(Self.owned)
        }
    }
}
