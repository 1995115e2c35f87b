import FerryCore
import Foundation
import GRDB

// Read-only queries for the status view (`ferry serve`). None of these writes.

extension SQLiteStateStore {
    /// The columns `desiredRecord` reads, by position (name lookups cost more than the query when listing 10,000).
    static let desiredColumns = """
        d.name, d.unified_id, d.source_path, d.bytes, d.digest, d.purpose, d.filename, d.target_models, d.labels,
        d.deletion_policy, d.declared_by
        """

    static func desiredRecord(_ row: Row, decoder: JSONDecoder) -> DesiredFileRecord {
        let models: String = row[7]
        let labels: String = row[8]
        return DesiredFileRecord(
            name: row[0], unifiedID: row[1], sourcePath: row[2], bytes: row[3], digest: row[4], purpose: row[5],
            filename: row[6],
            targetModels: quotedStrings(models) ?? (try? decoder.decode([String].self, from: Data(models.utf8))) ?? [],
            labels: quotedStrings(labels).flatMap(pairs)
                ?? (try? decoder.decode([String: String].self, from: Data(labels.utf8))) ?? [:],
            deletionPolicy: row[9], declaredBy: row[10])
    }

    /// The strings of a JSON array or object of strings as `saveSnapshot` stores them, in order; nil when a string
    /// has an escape (the caller then uses a JSON decoder). Listing 10,000 files decodes 20,000 of these.
    static func quotedStrings(_ json: String) -> [String]? {
        var strings: [String] = []
        var start: String.UTF8View.Index?
        let utf8 = json.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            switch utf8[index] {
            case UInt8(ascii: "\\"): return nil
            case UInt8(ascii: "\""):
                if let opened = start {
                    strings.append(String(json[opened..<index]))
                    start = nil
                } else {
                    start = utf8.index(after: index)
                }
            default: break
            }
            index = utf8.index(after: index)
        }
        return start == nil ? strings : nil
    }

    static func pairs(_ strings: [String]) -> [String: String]? {
        guard strings.count % 2 == 0 else { return nil }
        var result: [String: String] = [:]
        for index in stride(from: 0, to: strings.count, by: 2) { result[strings[index]] = strings[index + 1] }
        return result
    }

    private static let fileStatusSQL = """
        SELECT \(desiredColumns),
            (SELECT MIN(o.created_at) FROM owned_files o WHERE o.file = d.name) AS first_created_at,
            d.placements, d.placements_in_sync, d.placements_processing, \(failedCount)
        FROM desired_files d
        """

    /// A declared file's placements not in sync whose last attempt failed: looked up only for a file with placements
    /// not in sync (the counts by state are kept in its row, migration v7).
    static let failedCount = """
        CASE WHEN d.placements_in_sync = d.placements THEN 0 ELSE
            (SELECT COUNT(*) FROM placement_errors e JOIN placements p
                ON p.file = e.file AND p.endpoint_id = e.endpoint_id
                WHERE e.file = d.name AND p.state != 'in-sync') END
        """

    private static func fileStatus(_ row: Row, decoder: JSONDecoder) -> DesiredFileStatus {
        DesiredFileStatus(
            file: desiredRecord(row, decoder: decoder), firstCreatedAt: row[11],
            rollUp: PlacementRollUp(placements: row[12], inSync: row[13], processing: row[14], failed: row[15]))
    }

    /// Declared files of the latest snapshot, sorted by name.
    public func desiredFiles() throws -> [DesiredFileRecord] {
        try writer.read { db in
            let decoder = JSONDecoder()
            return try Row.fetchAll(db, sql: "SELECT \(Self.desiredColumns) FROM desired_files d ORDER BY d.name").map {
                Self.desiredRecord($0, decoder: decoder)
            }
        }
    }

    /// How many files the latest snapshot declares.
    public func desiredFileCount() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM desired_files") ?? 0 }
    }

    /// Declared files with a roll-up of their placements, sorted by name.
    public func desiredFileStatuses() throws -> [DesiredFileStatus] {
        try writer.read { db in
            let decoder = JSONDecoder()
            return try Row.fetchAll(db, sql: Self.fileStatusSQL + " ORDER BY d.name").map {
                Self.fileStatus($0, decoder: decoder)
            }
        }
    }

    /// One declared file by unified id, with its roll-up; nil when no declared file has that id.
    public func desiredFileStatus(unifiedID: String) throws -> DesiredFileStatus? {
        try writer.read { db in
            try Row.fetchOne(db, sql: Self.fileStatusSQL + " WHERE d.unified_id = ?", arguments: [unifiedID])
                .map { Self.fileStatus($0, decoder: JSONDecoder()) }
        }
    }

    /// One page of declared files in creation order, for OpenAI-style listing. A file's creation time is the
    /// earliest provider `created_at` of its owned remote files; files with none (not uploaded yet) come after every
    /// uploaded one; ties are broken by unified id, so the order is total. Read from an index: the key is kept in
    /// `desired_files.first_created_at` by triggers on `owned_files` and `desired_files`.
    /// - Parameters:
    ///   - ascending: oldest first (else newest first).
    ///   - after: a unified id; the page starts after it, in this order.
    ///   - purpose: only files with this purpose.
    ///   - limit: at most this many files.
    /// - Returns: the page and whether more files follow; nil when `after` names no declared file.
    public func desiredFilePage(
        ascending: Bool, after: String?, purpose: String?, limit: Int
    ) throws -> (files: [ListedFile], hasMore: Bool)? {
        try writer.read { db in
            // An index walk: `first_created_at` is kept by triggers (migration v5), with files not uploaded yet last.
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let purpose {
                conditions.append("d.purpose = ?")
                arguments += [purpose]
            }
            if let after {
                guard
                    let key = try Int64.fetchOne(
                        db, sql: "SELECT first_created_at FROM desired_files WHERE unified_id = ?", arguments: [after])
                else { return nil }
                conditions.append("(d.first_created_at, d.unified_id) \(ascending ? ">" : "<") (?, ?)")
                arguments += [key, after]
            }
            let direction = ascending ? "ASC" : "DESC"
            var page = "FROM desired_files d"
            if !conditions.isEmpty { page += " WHERE " + conditions.joined(separator: " AND ") }
            page += " ORDER BY d.first_created_at \(direction), d.unified_id \(direction) LIMIT ?"
            arguments += [limit + 1]
            // One statement of a handful of shapes, compiled once per connection: only the columns a file object
            // shows, the creation time and the placement counts from the file's own row (kept with the snapshot);
            // failures are looked up only for a file not in sync.
            var files: [ListedFile] = []
            files.reserveCapacity(min(limit + 1, 1_000))
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT d.name, d.unified_id, d.bytes, d.purpose, d.filename,
                            NULLIF(d.first_created_at, \(Self.notUploaded)), d.placements, d.placements_in_sync,
                            d.placements_processing, \(Self.failedCount) \(page)
                        """),
                arguments: arguments)
            while let row = try rows.next() {
                files.append(
                    ListedFile(
                        name: row[0], unifiedID: row[1], bytes: row[2], purpose: row[3], filename: row[4],
                        firstCreatedAt: row.optional(5),
                        rollUp: PlacementRollUp(placements: row[6], inSync: row[7], processing: row[8], failed: row[9])))
            }
            let hasMore = files.count > limit
            if hasMore { files.removeLast(files.count - limit) }
            return (files, hasMore)
        }
    }

    /// Placements of the latest snapshot with their last failures, sorted by file and endpoint.
    /// - Parameters:
    ///   - file: only this desired file's placements.
    ///   - attentionFirst: put the ones needing attention first (failed, out of sync, unknown, processing,
    ///     in sync), then sort by file and endpoint.
    ///   - limit: at most this many rows.
    public func placementRecords(file: String?, attentionFirst: Bool, limit: Int?, after: PlacementKey?) throws
        -> [PlacementRecord]
    {
        try writer.read { db in
            var sql = """
                SELECT p.file, p.endpoint_id, p.models, p.state, p.remote_id, p.pending_action, p.detail,
                    e.action, e.message, e.at, e.attempts, p.filename, o.expires_at, p.unified_id
                FROM placements p LEFT JOIN placement_errors e ON e.file = p.file AND e.endpoint_id = p.endpoint_id
                LEFT JOIN observed_files o INDEXED BY observed_files_expiring
                    ON o.endpoint_id = p.endpoint_id AND o.remote_id = p.remote_id AND o.expires_at IS NOT NULL
                """
            var arguments: StatementArguments = []
            var conditions: [String] = []
            if let file {
                conditions.append("p.file = ?")
                arguments += [file]
            }
            if let after, !attentionFirst {
                conditions.append("(p.file, p.endpoint_id) > (?, ?)")
                arguments += [after.file, after.endpointID]
            }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
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
            if let limit {
                sql += " LIMIT ?"
                arguments += [limit]
            }
            // A handful of shapes, each compiled once per connection. Optional columns are read through
            // `Row.optional`; the unified id and file name are kept in the placement's row (migration v7; hashed only
            // should a row lack it): a page of 100 placements was a millisecond of CPU before.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            var records: [PlacementRecord] = []
            while let row = try rows.next() {
                let file: String = row[0]
                let models: String = row[2]
                let status = PlacementStatus(
                    file: file, unifiedID: row.optional(13) ?? UnifiedID.make(for: file), endpointID: row[1],
                    models: PlacementRecord.models(stored: models),
                    state: PlacementStatus.State(rawValue: row[3]) ?? .unknown, remoteID: row.optional(4),
                    pendingAction: (row.optional(5) as String?).flatMap(PlannedAction.Kind.init(rawValue:)),
                    detail: row.optional(6))
                var error: PlacementError?
                if let message: String = row.optional(8) {
                    error = PlacementError(
                        file: status.file, endpointID: status.endpointID, action: row[7], message: message, at: row[9],
                        attempts: row[10])
                }
                records.append(
                    PlacementRecord(status: status, error: error, filename: row.optional(11), expiresAt: row.optional(12)))
            }
            return records
        }
    }

    /// Placements per display state (`in-sync`, `out-of-sync`, `failed`, `processing`, `unknown`).
    public func placementStateCounts() throws -> [String: Int] {
        try writer.read { db in
            var counts: [String: Int] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT CASE WHEN p.state != 'in-sync' AND e.file IS NOT NULL THEN 'failed' ELSE p.state END AS s,
                        COUNT(*) AS n
                    FROM placements p LEFT JOIN placement_errors e ON e.file = p.file AND e.endpoint_id = p.endpoint_id
                    GROUP BY s
                    """)
            for row in rows { counts[row["s"]] = row["n"] }
            return counts
        }
    }

    /// Every endpoint ever observed, sorted by id, with owned and unmanaged counts.
    public func endpointRecords() throws -> [EndpointRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT n.*,
                        (SELECT COUNT(*) FROM owned_files o WHERE o.endpoint_id = n.id) AS owned_count,
                        (SELECT COUNT(*) FROM observed_files f WHERE f.endpoint_id = n.id AND NOT EXISTS (
                            SELECT 1 FROM owned_files o
                            WHERE o.endpoint_id = f.endpoint_id AND o.remote_id = f.remote_id
                        )) AS unmanaged_count
                    FROM endpoints n ORDER BY n.id
                    """
            ).map { row in
                EndpointRecord(
                    id: row["id"], kind: row["kind"], displayName: row["display_name"], baseURL: row["base_url"],
                    observedAt: row["observed_at"], listed: row["listed"], pages: row["pages"], error: row["error"],
                    lastSuccessAt: row["last_success_at"], owned: row["owned_count"], unmanaged: row["unmanaged_count"])
            }
        }
    }

    /// Unix seconds of the latest successful listing of any endpoint; nil when none ever succeeded.
    public func lastSuccessfulObservation() throws -> Int64? {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(last_success_at) FROM endpoints")
        }
    }

    /// Applied and failed actions over the recorded runs, and when a run last converged.
    public func runTotals() throws -> RunTotals {
        try writer.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS runs, COALESCE(SUM(applied), 0) AS applied, COALESCE(SUM(failed), 0) AS failed,
                        (SELECT MAX(finished_at) FROM runs WHERE outcome = 'converged') AS converged_at
                    FROM runs
                    """)
            return RunTotals(
                runs: row?["runs"] ?? 0, applied: row?["applied"] ?? 0, failed: row?["failed"] ?? 0,
                lastConvergedAt: row?["converged_at"])
        }
    }

    /// When the latest snapshot (`saveSnapshot`) was stored, in unix seconds; nil before the first.
    public func snapshotUpdatedAt() throws -> Double? {
        try writer.read { db in
            try Double.fetchOne(db, sql: "SELECT \(Self.snapshotTime) FROM snapshots WHERE name = 'plan'")
        }
    }

    /// The latest plan exactly as stored (sorted-key JSON), and when; nil before the first snapshot.
    public func latestPlanJSON() throws -> (json: String, at: Double)? {
        try writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT json, \(Self.snapshotTime) AS updated_at FROM snapshots WHERE name = 'plan'"
            ).map { row in (row["json"], row["updated_at"]) }
        }
    }

    /// Owned remote files of one desired file, newest first.
    public func ownedFiles(file: String) throws -> [OwnedFile] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM owned_files WHERE file = ? ORDER BY created_at DESC, remote_id DESC",
                arguments: [file]
            ).map(Self.owned)
        }
    }
}

extension Row {
    /// A column that may be NULL. GRDB decodes `T?` through a generic path that looks up type metadata for every
    /// value (a tenth of the CPU of a status page of 100 placements); testing for NULL first keeps the fast,
    /// specialised read of `T`.
    @inline(__always)
    func optional<T: DatabaseValueConvertible & StatementColumnConvertible>(_ index: Int) -> T? {
        hasNull(atIndex: index) ? nil : self[index] as T
    }
}
