import FerryCore
import Foundation
import PostgresNIO

// Listings, owned files and intents, placement errors, request statistics and runs.

extension PostgresStateStore {
    // MARK: Listings

    public func recordObservation(_ observation: EndpointObservation, endpoint: Endpoint, pages: Int) throws {
        try session.transaction { connection in
            try connection.execute(
                """
                INSERT INTO endpoints (workspace, id, kind, display_name, base_url) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (workspace, id) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name,
                    base_url = excluded.base_url
                """, binds(workspace, endpoint.id, endpoint.kind.rawValue, endpoint.displayName, endpoint.baseURL))
            guard let files = observation.files else {
                try connection.execute(
                    "UPDATE endpoints SET observed_at = $3, error = $4 WHERE workspace = $1 AND id = $2",
                    binds(workspace, endpoint.id, observation.observedAt, observation.error))
                return
            }
            // Only rows that differ from the stored listing are written (a converged endpoint writes nothing).
            struct Listed: Equatable {
                var filename: String, bytes: Int64, purpose: String, createdAt: Int64, status: String
                var details: String?
                var expiresAt: Int64?
            }
            var wanted: [String: Listed] = [:]
            wanted.reserveCapacity(files.count)
            for file in files {
                wanted[file.id] = Listed(
                    filename: file.filename, bytes: file.bytes, purpose: file.purpose, createdAt: file.createdAt,
                    status: file.status.rawValue, details: file.statusDetails, expiresAt: file.expiresAt)
            }
            // The same id twice in one listing is refused, as on SQLite (whose primary key refuses it); the last
            // good listing stays.
            guard wanted.count == files.count else {
                throw StateStoreError.queryFailed(
                    url.description, reason: "the listing of \(endpoint.displayName) names one file id twice")
            }
            var stale: [String] = []
            for row in try connection.query(
                """
                SELECT remote_id, filename, bytes, purpose, created_at, status, status_details, expires_at
                FROM observed_files WHERE workspace = $1 AND endpoint_id = $2
                """, binds(workspace, endpoint.id))
            {
                // One pass over the row (decoding cell by cell costs several times more for 10,000 rows).
                let (id, filename, bytes, purpose, createdAt, status, details, expiresAt) = try row.decode(
                    (String, String, Int64, String, Int64, String, String?, Int64?).self)
                let stored = Listed(
                    filename: filename, bytes: bytes, purpose: purpose, createdAt: createdAt, status: status,
                    details: details, expiresAt: expiresAt)
                if let listed = wanted[id] {
                    if listed == stored { wanted[id] = nil }
                } else {
                    stale.append(id)
                }
            }
            if !stale.isEmpty {
                try connection.execute(
                    "DELETE FROM observed_files WHERE workspace = $1 AND endpoint_id = $2 AND remote_id = ANY($3)",
                    binds(workspace, endpoint.id, stale))
            }
            if !wanted.isEmpty {
                let rows = Array(wanted)
                try connection.execute(
                    """
                    INSERT INTO observed_files (workspace, endpoint_id, remote_id, filename, bytes, purpose, created_at,
                        status, status_details, expires_at)
                    SELECT $1, $2, id, f, b, p, c, s, CASE WHEN n THEN NULL ELSE d END, CASE WHEN xn THEN NULL ELSE x END
                    FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[],
                        $9::text[], $10::bool[], $11::bigint[], $12::bool[]) AS t(id, f, b, p, c, s, d, n, x, xn)
                    ON CONFLICT (workspace, endpoint_id, remote_id) DO UPDATE SET filename = excluded.filename,
                        bytes = excluded.bytes, purpose = excluded.purpose, created_at = excluded.created_at,
                        status = excluded.status, status_details = excluded.status_details,
                        expires_at = excluded.expires_at
                    """,
                    binds(
                        workspace, endpoint.id, rows.map(\.key), rows.map(\.value.filename), rows.map(\.value.bytes),
                        rows.map(\.value.purpose), rows.map(\.value.createdAt), rows.map(\.value.status),
                        rows.map { $0.value.details ?? "" }, rows.map { $0.value.details == nil },
                        rows.map { $0.value.expiresAt ?? 0 }, rows.map { $0.value.expiresAt == nil }))
            }
            try connection.execute(
                """
                UPDATE endpoints SET observed_at = $3, listed = $4, pages = $5, error = NULL, last_success_at = $3
                WHERE workspace = $1 AND id = $2
                """, binds(workspace, endpoint.id, observation.observedAt, files.count, pages))
        }
    }

    public func listingCuts(endpointID: String, parts: Int, minimumPerPart: Int) throws -> [String] {
        try session.transaction { connection in
            let count: Int =
                try connection.query(
                    "SELECT COUNT(*) FROM observed_files WHERE workspace = $1 AND endpoint_id = $2",
                    binds(workspace, endpointID)
                ).first?.get(0) ?? 0
            let parts = min(parts, count / max(minimumPerPart, 1))
            guard parts > 1 else { return [] }
            // Byte order (COLLATE "C"), as providers compare ids, whatever the database's collation.
            return try (1..<parts).compactMap { part in
                try connection.query(
                    """
                    SELECT remote_id FROM observed_files WHERE workspace = $1 AND endpoint_id = $2
                    ORDER BY remote_id COLLATE "C" LIMIT 1 OFFSET $3
                    """, binds(workspace, endpointID, count * part / parts)
                ).first?.get(0)
            }
        }
    }

    public func observations() throws -> [String: EndpointObservation] {
        try session.transaction { connection in
            var result: [String: EndpointObservation] = [:]
            for row in try connection.query(
                "SELECT id, last_success_at FROM endpoints WHERE workspace = $1 AND last_success_at IS NOT NULL",
                binds(workspace))
            {
                let id: String = try row.get(0)
                result[id] = EndpointObservation(endpointID: id, files: [], observedAt: try row.get(1))
            }
            for row in try connection.query(
                """
                SELECT endpoint_id, remote_id, filename, bytes, purpose, created_at, status, status_details, expires_at
                FROM observed_files WHERE workspace = $1 ORDER BY endpoint_id, remote_id
                """, binds(workspace))
            {
                let (id, remoteID, filename, bytes, purpose, createdAt, status, details, expiresAt) = try row.decode(
                    (String, String, String, Int64, String, Int64, String, String?, Int64?).self)
                result[id]?.files?.append(
                    RemoteFile(
                        id: remoteID, filename: filename, bytes: bytes, purpose: purpose, createdAt: createdAt,
                        status: RemoteFileStatus(rawValue: status) ?? .unknown, statusDetails: details,
                        expiresAt: expiresAt))
            }
            return result
        }
    }

    // MARK: Owned files and intents

    static let ownedColumns =
        "endpoint_id, remote_id, file, digest, bytes, filename, purpose, created_at, deletion_policy, unified_id"

    /// The unified id as recorded with the row (not hashed again from the name for every row).
    static func owned(_ row: PostgresRow) throws -> OwnedFile {
        let (endpointID, remoteID, file, digest, bytes, filename, purpose, createdAt, policy, unifiedID) =
            try row.decode((String, String, String, String, Int64, String, String, Int64, String, String).self)
        return OwnedFile(
            endpointID: endpointID, remoteID: remoteID, file: file, digest: digest, bytes: bytes, filename: filename,
            purpose: purpose, createdAt: createdAt, deletionPolicy: DeletionPolicy(rawValue: policy) ?? .delete,
            unifiedID: unifiedID)
    }

    /// Every owned file, each handed to `sharing` (when given) as it is made.
    func fetchOwned(_ connection: PostgresSession.Connection, sharing: OwnedFile.SharedStrings?) throws -> [OwnedFile] {
        var sharing = sharing
        return try connection.query(
            "SELECT \(Self.ownedColumns) FROM owned_files WHERE workspace = $1 ORDER BY file, endpoint_id, remote_id",
            binds(workspace)
        ).map { row in
            var record = try Self.owned(row)
            sharing?.share(&record)
            return record
        }
    }

    func fetchIntents(_ connection: PostgresSession.Connection) throws -> [CreateIntent] {
        try connection.query(
            """
            SELECT id, endpoint_id, file, digest, bytes, filename, purpose, started_at, deletion_policy FROM intents
            WHERE workspace = $1 ORDER BY id
            """, binds(workspace)
        ).map { row in
            CreateIntent(
                id: try row.get(0), endpointID: try row.get(1), file: try row.get(2), digest: try row.get(3),
                bytes: try row.get(4), filename: try row.get(5), purpose: try row.get(6), startedAt: try row.get(7),
                deletionPolicy: DeletionPolicy(rawValue: try row.get(8, as: String.self)) ?? .delete)
        }
    }

    public func ownedFiles() throws -> [OwnedFile] {
        try session.withConnection { try fetchOwned($0, sharing: nil) }
    }

    public func ownedFilesAndIntents(sharing: OwnedFile.SharedStrings?) throws
        -> (owned: [OwnedFile], intents: [CreateIntent])
    {
        // REPEATABLE READ: both lists from one snapshot, like SQLite's single read transaction.
        try session.withConnection { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            do {
                let result = (try fetchOwned(connection, sharing: sharing), try fetchIntents(connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                if !connection.base.isClosed { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    public func intents() throws -> [CreateIntent] {
        try session.withConnection(fetchIntents)
    }

    public func beginCreate(
        endpointID: String, file: String, digest: String, bytes: Int64, filename: String, purpose: String,
        deletionPolicy: DeletionPolicy, startedAt: Int64
    ) throws -> Int64 {
        try session.withConnection { connection in
            let rows = try connection.query(
                """
                INSERT INTO intents (workspace, endpoint_id, file, digest, bytes, filename, purpose, deletion_policy,
                    started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
                """,
                binds(workspace, endpointID, file, digest, bytes, filename, purpose, deletionPolicy.rawValue, startedAt))
            return try rows.first?.get(0) ?? 0
        }
    }

    public func recordOwned(_ owned: OwnedFile, closingIntent intentID: Int64?, at now: Int64) throws {
        // One statement, so one round trip, and atomic on its own: the owned row, the intent and the placement's
        // last error change together or not at all.
        try session.withConnection { connection in
            try connection.execute(
                """
                WITH recorded AS (
                    INSERT INTO owned_files (workspace, endpoint_id, remote_id, file, unified_id, digest, bytes,
                        filename, purpose, created_at, deletion_policy, recorded_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                    ON CONFLICT (workspace, endpoint_id, remote_id) DO UPDATE SET file = excluded.file,
                        unified_id = excluded.unified_id, digest = excluded.digest, bytes = excluded.bytes,
                        filename = excluded.filename, purpose = excluded.purpose, created_at = excluded.created_at,
                        deletion_policy = excluded.deletion_policy, recorded_at = excluded.recorded_at
                    RETURNING 1),
                closed AS (DELETE FROM intents WHERE workspace = $1 AND id = $13 RETURNING 1),
                cleared AS (
                    DELETE FROM placement_errors WHERE workspace = $1 AND file = $4 AND endpoint_id = $2 RETURNING 1)
                SELECT (SELECT count(*) FROM recorded), (SELECT count(*) FROM closed), (SELECT count(*) FROM cleared)
                """,
                binds(
                    workspace, owned.endpointID, owned.remoteID, owned.file, owned.unifiedID, owned.digest, owned.bytes,
                    owned.filename, owned.purpose, owned.createdAt, owned.deletionPolicy.rawValue, now,
                    intentID))
        }
    }

    public func closeIntent(_ id: Int64) throws {
        try session.withConnection { connection in
            try connection.execute("DELETE FROM intents WHERE workspace = $1 AND id = $2", binds(workspace, id))
        }
    }

    public func removeOwned(endpointID: String, remoteID: String) throws {
        try session.withConnection { connection in
            try connection.execute(
                """
                WITH owned AS (
                    DELETE FROM owned_files WHERE workspace = $1 AND endpoint_id = $2 AND remote_id = $3 RETURNING 1)
                DELETE FROM observed_files WHERE workspace = $1 AND endpoint_id = $2 AND remote_id = $3
                """, binds(workspace, endpointID, remoteID))
        }
    }

    public func refreshPolicies(_ desired: DesiredState) throws {
        guard !desired.files.isEmpty else { return }
        try session.withConnection { connection in
            try connection.execute(
                """
                UPDATE owned_files o SET deletion_policy = t.p FROM unnest($2::text[], $3::text[]) AS t(f, p)
                WHERE o.workspace = $1 AND o.file = t.f AND o.deletion_policy != t.p
                """,
                binds(workspace, desired.files.map(\.name), desired.files.map(\.deletionPolicy.rawValue)))
        }
    }

    public func ownedEndpointIDs() throws -> Set<String> {
        try session.withConnection { connection in
            Set(
                try connection.query("SELECT DISTINCT endpoint_id FROM owned_files WHERE workspace = $1", binds(workspace))
                    .map { try $0.get(0, as: String.self) })
        }
    }

    // MARK: Placement errors

    public func recordPlacementError(file: String, endpointID: String, action: String, message: String, at: Int64)
        throws
    {
        try session.withConnection { connection in
            try connection.execute(
                """
                INSERT INTO placement_errors (workspace, file, endpoint_id, action, message, at)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (workspace, file, endpoint_id) DO UPDATE SET action = excluded.action,
                    message = excluded.message, at = excluded.at, attempts = placement_errors.attempts + 1
                """, binds(workspace, file, endpointID, action, message, at))
        }
    }

    public func clearPlacementError(file: String, endpointID: String) throws {
        try session.withConnection { connection in
            try connection.execute(
                "DELETE FROM placement_errors WHERE workspace = $1 AND file = $2 AND endpoint_id = $3",
                binds(workspace, file, endpointID))
        }
    }

    public func placementErrors() throws -> [PlacementError] {
        try session.withConnection { connection in
            try connection.query(
                """
                SELECT file, endpoint_id, action, message, at, attempts FROM placement_errors WHERE workspace = $1
                ORDER BY file, endpoint_id
                """, binds(workspace)
            ).map { row in
                PlacementError(
                    file: try row.get(0), endpointID: try row.get(1), action: try row.get(2), message: try row.get(3),
                    at: try row.get(4), attempts: try row.get(5))
            }
        }
    }

    // MARK: Request statistics

    public func addRequestStats(_ rows: [RequestStatsRow]) throws {
        guard !rows.isEmpty else { return }
        try session.transaction { connection in
            for row in rows {
                try connection.execute(
                    """
                    INSERT INTO request_stats (workspace, endpoint_id, operation, requests, failures, retries,
                        latency_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (workspace, endpoint_id, operation) DO UPDATE SET
                        requests = request_stats.requests + excluded.requests,
                        failures = request_stats.failures + excluded.failures,
                        retries = request_stats.retries + excluded.retries,
                        latency_seconds = request_stats.latency_seconds + excluded.latency_seconds
                    """,
                    binds(
                        workspace, row.endpointID, row.operation, row.requests, row.failures, row.retries,
                        row.latencySeconds))
            }
        }
    }

    public func requestStats() throws -> [RequestStatsRow] {
        try session.withConnection { connection in
            try connection.query(
                """
                SELECT endpoint_id, operation, requests, failures, retries, latency_seconds FROM request_stats
                WHERE workspace = $1 ORDER BY endpoint_id, operation
                """, binds(workspace)
            ).map { row in
                RequestStatsRow(
                    endpointID: try row.get(0), operation: try row.get(1), requests: try row.get(2),
                    failures: try row.get(3), retries: try row.get(4), latencySeconds: try row.get(5))
            }
        }
    }

    // MARK: Runs

    public func startRun(command: String, revision: String?, at now: Double) throws -> Int64 {
        try session.withConnection { connection in
            try connection.query(
                "INSERT INTO runs (workspace, command, started_at, revision) VALUES ($1, $2, $3, $4) RETURNING id",
                binds(workspace, command, now, revision)
            ).first?.get(0) ?? 0
        }
    }

    public func finishRun(
        _ id: Int64, outcome: String, summary: String, applied: Int, failed: Int, requests: Int, at now: Double
    ) throws {
        try session.transaction { connection in
            try connection.execute(
                """
                UPDATE runs SET finished_at = $3, outcome = $4, summary = $5, applied = $6, failed = $7, requests = $8
                WHERE workspace = $1 AND id = $2
                """, binds(workspace, id, now, outcome, summary, applied, failed, requests))
            // Keep this workspace's history bounded: its 1,000 latest runs.
            try connection.execute(
                """
                DELETE FROM runs WHERE workspace = $1 AND id < (
                    SELECT id FROM runs WHERE workspace = $1 ORDER BY id DESC OFFSET 999 LIMIT 1)
                """, binds(workspace))
        }
    }

    public func recordEvent(
        run: Int64, level: String, file: String?, endpointID: String?, action: String?, message: String, at now: Double
    ) throws {
        try session.withConnection { connection in
            try connection.execute(
                """
                INSERT INTO run_events (run_id, workspace, at, level, file, endpoint_id, action, message)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, binds(run, workspace, now, level, file, endpointID, action, message))
        }
    }

    static let runColumns = "id, command, started_at, finished_at, outcome, summary, applied, failed, requests, revision"

    static func run(_ row: PostgresRow) throws -> RunRecord {
        RunRecord(
            id: try row.get(0), command: try row.get(1), startedAt: try row.get(2), finishedAt: try row.get(3),
            outcome: try row.get(4), summary: try row.get(5), applied: try row.get(6), failed: try row.get(7),
            requests: try row.get(8), revision: try row.get(9))
    }

    public func recentRuns(limit: Int) throws -> [RunRecord] {
        try session.withConnection { connection in
            try connection.query(
                "SELECT \(Self.runColumns) FROM runs WHERE workspace = $1 ORDER BY id DESC LIMIT $2",
                binds(workspace, limit)
            ).map(Self.run)
        }
    }

    // MARK: Renames

    public func moveOwned(
        endpointID: String, remoteID: String, to newName: String, unifiedID newUnifiedID: String, at now: Int64
    ) throws {
        try session.transaction { connection in
            guard
                let old = try connection.query(
                    """
                    SELECT file, unified_id FROM owned_files WHERE workspace = $1 AND endpoint_id = $2 AND remote_id = $3
                    FOR UPDATE
                    """, binds(workspace, endpointID, remoteID)
                ).first
            else { return }
            let oldName: String = try old.get(0)
            let oldUnifiedID: String = try old.get(1)
            try connection.execute(
                """
                UPDATE owned_files SET file = $4, unified_id = $5
                WHERE workspace = $1 AND endpoint_id = $2 AND remote_id = $3
                """, binds(workspace, endpointID, remoteID, newName, newUnifiedID))
            guard oldUnifiedID != newUnifiedID else { return }
            try connection.execute(
                """
                INSERT INTO moved_files (workspace, old_unified_id, old_name, new_name, new_unified_id, moved_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (workspace, old_unified_id) DO UPDATE SET
                    new_name = excluded.new_name, new_unified_id = excluded.new_unified_id, moved_at = excluded.moved_at
                """, binds(workspace, oldUnifiedID, oldName, newName, newUnifiedID, now))
            try connection.execute(
                "DELETE FROM moved_files WHERE workspace = $1 AND old_unified_id = $2", binds(workspace, newUnifiedID))
        }
    }

    public func setDeletionPolicy(endpointID: String, file: String, policy: DeletionPolicy) throws {
        try session.withConnection { connection in
            try connection.execute(
                "UPDATE owned_files SET deletion_policy = $4 WHERE workspace = $1 AND endpoint_id = $2 AND file = $3",
                binds(workspace, endpointID, file, policy.rawValue))
        }
    }

    public func movedFile(unifiedID: String) throws -> MovedFile? {
        try session.withConnection { connection in
            try connection.query(
                """
                SELECT old_unified_id, old_name, new_name, new_unified_id, moved_at FROM moved_files
                WHERE workspace = $1 AND old_unified_id = $2
                """, binds(workspace, unifiedID)
            ).first.map {
                MovedFile(
                    oldUnifiedID: try $0.get(0), oldName: try $0.get(1), newName: try $0.get(2),
                    newUnifiedID: try $0.get(3), movedAt: try $0.get(4))
            }
        }
    }
}
