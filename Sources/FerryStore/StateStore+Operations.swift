import FerryCore
import Foundation
import GRDB

// MARK: - Observations

extension StateStore {
    /// Replaces an endpoint's stored listing with a fresh one (or records why listing failed, keeping the old rows).
    public func recordObservation(_ observation: EndpointObservation, endpoint: Endpoint, pages: Int) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO endpoints (id, kind, display_name, base_url) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name,
                        base_url = excluded.base_url
                    """, arguments: [endpoint.id, endpoint.kind.rawValue, endpoint.displayName, endpoint.baseURL])
            guard let files = observation.files else {
                try db.execute(
                    sql: "UPDATE endpoints SET observed_at = ?, error = ? WHERE id = ?",
                    arguments: [observation.observedAt, observation.error, endpoint.id])
                return
            }
            // Only the rows that differ from the stored listing are written: a converged endpoint of 10,000 files
            // is read back and compared instead of being deleted and inserted again.
            var wanted: [String: [DatabaseValue]] = [:]
            wanted.reserveCapacity(files.count)
            for file in files {
                wanted[file.id] = [
                    file.id.databaseValue, file.filename.databaseValue, file.bytes.databaseValue,
                    file.purpose.databaseValue, file.createdAt.databaseValue, file.status.rawValue.databaseValue,
                    file.statusDetails.databaseValue,
                ]
            }
            if wanted.count == files.count {
                var stale: [String] = []
                let stored = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT remote_id, filename, bytes, purpose, created_at, status, status_details FROM observed_files
                        WHERE endpoint_id = ?
                        """, arguments: [endpoint.id])
                while let row = try stored.next() {
                    let id: String = row[0]
                    if let values = wanted[id] {
                        if values == Array(row.databaseValues) { wanted[id] = nil }
                    } else {
                        stale.append(id)
                    }
                }
                let delete = try db.makeStatement(sql: "DELETE FROM observed_files WHERE endpoint_id = ? AND remote_id = ?")
                for id in stale { try delete.execute(arguments: [endpoint.id, id]) }
                let upsert = try db.makeStatement(
                    sql: """
                        INSERT OR REPLACE INTO observed_files (endpoint_id, remote_id, filename, bytes, purpose, created_at,
                            status, status_details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                for file in files where wanted[file.id] != nil {
                    try upsert.execute(arguments: StatementArguments([endpoint.id.databaseValue] + wanted[file.id]!))
                }
            } else {
                // The same id twice in one listing: store it as listed (the primary key refuses the duplicate).
                try db.execute(sql: "DELETE FROM observed_files WHERE endpoint_id = ?", arguments: [endpoint.id])
                let statement = try db.makeStatement(
                    sql: """
                        INSERT INTO observed_files (endpoint_id, remote_id, filename, bytes, purpose, created_at, status,
                            status_details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                for file in files {
                    try statement.execute(arguments: [
                        endpoint.id, file.id, file.filename, file.bytes, file.purpose, file.createdAt,
                        file.status.rawValue, file.statusDetails,
                    ])
                }
            }
            try db.execute(
                sql: """
                    UPDATE endpoints SET observed_at = ?, listed = ?, pages = ?, error = NULL, last_success_at = ?
                    WHERE id = ?
                    """, arguments: [observation.observedAt, files.count, pages, observation.observedAt, endpoint.id])
        }
    }

    /// The latest successful listing of each endpoint.
    public func observations() throws -> [String: EndpointObservation] {
        try writer.read { db in
            var result: [String: EndpointObservation] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, last_success_at FROM endpoints WHERE last_success_at IS NOT NULL") {
                let id: String = row["id"]
                result[id] = EndpointObservation(endpointID: id, files: [], observedAt: row["last_success_at"])
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM observed_files ORDER BY endpoint_id, remote_id") {
                let id: String = row["endpoint_id"]
                result[id]?.files?.append(
                    RemoteFile(
                        id: row["remote_id"], filename: row["filename"], bytes: row["bytes"], purpose: row["purpose"],
                        createdAt: row["created_at"], status: RemoteFileStatus(rawValue: row["status"]) ?? .unknown,
                        statusDetails: row["status_details"]))
            }
            return result
        }
    }
}

// MARK: - Owned files and intents

extension StateStore {
    /// Every owned file.
    public func ownedFiles() throws -> [OwnedFile] {
        try writer.read { db in try Self.fetchOwnedFiles(db) }
    }

    /// Owned files and open intents read in one transaction, so an upload recorded by another process between two
    /// reads cannot be missing from both (the planner must see it either as owned or through its intent).
    public func ownedFilesAndIntents() throws -> (owned: [OwnedFile], intents: [CreateIntent]) {
        try writer.read { db in (try Self.fetchOwnedFiles(db), try Self.fetchIntents(db)) }
    }

    static func fetchOwnedFiles(_ db: Database) throws -> [OwnedFile] {
        // Columns read by position: a name lookup compares names case-insensitively, for each of 30,000 rows.
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT endpoint_id, remote_id, file, digest, bytes, filename, purpose, created_at, deletion_policy
                FROM owned_files ORDER BY file, endpoint_id, remote_id
                """)
        var files: [OwnedFile] = []
        while let row = try rows.next() {
            files.append(
                OwnedFile(
                    endpointID: row[0], remoteID: row[1], file: row[2], digest: row[3], bytes: row[4],
                    filename: row[5], purpose: row[6], createdAt: row[7],
                    deletionPolicy: DeletionPolicy(rawValue: row[8]) ?? .delete))
        }
        return files
    }

    static func owned(_ row: Row) -> OwnedFile {
        OwnedFile(
            endpointID: row["endpoint_id"], remoteID: row["remote_id"], file: row["file"], digest: row["digest"],
            bytes: row["bytes"], filename: row["filename"], purpose: row["purpose"], createdAt: row["created_at"],
            deletionPolicy: DeletionPolicy(rawValue: row["deletion_policy"]) ?? .delete)
    }

    /// Open write-ahead intents.
    public func intents() throws -> [CreateIntent] {
        try writer.read { db in try Self.fetchIntents(db) }
    }

    static func fetchIntents(_ db: Database) throws -> [CreateIntent] {
        try Row.fetchAll(db, sql: "SELECT * FROM intents ORDER BY id").map { row in
            CreateIntent(
                id: row["id"], endpointID: row["endpoint_id"], file: row["file"], digest: row["digest"],
                bytes: row["bytes"], filename: row["filename"], purpose: row["purpose"],
                startedAt: row["started_at"],
                deletionPolicy: DeletionPolicy(rawValue: row["deletion_policy"]) ?? .delete)
        }
    }

    /// Records, durably, that an upload is about to be sent. Returns the intent's id.
    public func beginCreate(
        endpointID: String, file: String, digest: String, bytes: Int64, filename: String, purpose: String,
        deletionPolicy: DeletionPolicy, startedAt: Int64
    ) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO intents (endpoint_id, file, digest, bytes, filename, purpose, deletion_policy, started_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [endpointID, file, digest, bytes, filename, purpose, deletionPolicy.rawValue, startedAt])
            return db.lastInsertedRowID
        }
    }

    /// Records an upload's answer: the file becomes owned and its intent is closed, in one transaction.
    /// Also used to adopt an upload found for an intent.
    public func recordOwned(_ owned: OwnedFile, closingIntent intentID: Int64?, at now: Int64) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO owned_files (endpoint_id, remote_id, file, unified_id, digest, bytes, filename,
                        purpose, created_at, deletion_policy, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    owned.endpointID, owned.remoteID, owned.file, owned.unifiedID, owned.digest, owned.bytes,
                    owned.filename, owned.purpose, owned.createdAt, owned.deletionPolicy.rawValue, now,
                ])
            if let intentID { try db.execute(sql: "DELETE FROM intents WHERE id = ?", arguments: [intentID]) }
            try db.execute(
                sql: "DELETE FROM placement_errors WHERE file = ? AND endpoint_id = ?",
                arguments: [owned.file, owned.endpointID])
        }
    }

    /// Closes an intent whose upload certainly did not happen (a terminal refusal) or never appeared.
    public func closeIntent(_ id: Int64) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM intents WHERE id = ?", arguments: [id]) }
    }

    /// Forgets an owned file: deleted by Ferry, gone from the provider, or released.
    public func removeOwned(endpointID: String, remoteID: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM owned_files WHERE endpoint_id = ? AND remote_id = ?", arguments: [endpointID, remoteID])
            try db.execute(
                sql: "DELETE FROM observed_files WHERE endpoint_id = ? AND remote_id = ?",
                arguments: [endpointID, remoteID])
        }
    }

    /// Updates the stored deletion policy of owned files to what the manifests now say.
    public func refreshPolicies(_ desired: DesiredState) throws {
        try writer.write { db in
            for file in desired.files {
                try db.execute(
                    sql: "UPDATE owned_files SET deletion_policy = ? WHERE file = ? AND deletion_policy != ?",
                    arguments: [file.deletionPolicy.rawValue, file.name, file.deletionPolicy.rawValue])
            }
        }
    }
}

// MARK: - Placement errors

/// The last failure of a placement, shown until it succeeds.
public struct PlacementError: Hashable, Codable, Sendable {
    public var file: String
    public var endpointID: String
    public var action: String
    public var message: String
    public var at: Int64
    public var attempts: Int
}

extension StateStore {
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

// MARK: - Digest cache

/// What identifies a source file's content without reading it.
public struct FileStamp: Hashable, Sendable {
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: Int64

    public init(size: Int64, mtimeNanoseconds: Int64, inode: Int64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
    }
}

extension StateStore {
    /// Cached digests by path, with the stamp they were computed for.
    public func cachedDigests() throws -> [String: (FileStamp, String)] {
        try writer.read { db in
            var result: [String: (FileStamp, String)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM digest_cache") {
                result[row["path"]] = (
                    FileStamp(size: row["size"], mtimeNanoseconds: row["mtime_ns"], inode: row["inode"]), row["digest"]
                )
            }
            return result
        }
    }

    /// Stores freshly computed digests.
    public func storeDigests(_ digests: [String: (FileStamp, String)]) throws {
        guard !digests.isEmpty else { return }
        try writer.write { db in
            let statement = try db.makeStatement(
                sql: "INSERT OR REPLACE INTO digest_cache (path, size, mtime_ns, inode, digest) VALUES (?, ?, ?, ?, ?)")
            for (path, (stamp, digest)) in digests {
                try statement.execute(arguments: [path, stamp.size, stamp.mtimeNanoseconds, stamp.inode, digest])
            }
        }
    }
}
