import FerryCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteStateStore {
    /// Every owned file.
    public func ownedFiles() throws -> [OwnedFile] {
        try writer.read { db in try Self.fetchOwnedFiles(db) }
    }

    /// Owned files and open intents read in one transaction, so an upload recorded by another process between two
    /// reads cannot be missing from both (the planner must see it either as owned or through its intent).
    public func ownedFilesAndIntents(sharing: OwnedFile.SharedStrings?) throws
        -> (owned: [OwnedFile], intents: [CreateIntent])
    {
        try writer.read { db in (try Self.fetchOwnedFiles(db, sharing: sharing), try Self.fetchIntents(db)) }
    }

    /// Rows a read must have before their strings are shared on other threads while the next rows are read.
    static let parallelSharingRows = 8_192
    /// Rows handed to one sharing job.
    static let sharingChunk = 2_048
    /// Chunks read and not yet shared, at most.
    static let sharingAhead = 3

    static func fetchOwnedFiles(_ db: Database, sharing: OwnedFile.SharedStrings? = nil) throws -> [OwnedFile] {
        let statement = try db.makeStatement(
            sql: """
                SELECT endpoint_id, remote_id, file, digest, bytes, filename, purpose, created_at, deletion_policy,
                    unified_id
                FROM owned_files ORDER BY file, endpoint_id, remote_id
                """)
        let rows = try Row.fetchCursor(statement)
        // Sized exactly (same transaction): grown by doubling, 300,000 rows left about 30 MB of spare capacity.
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM owned_files") ?? 0
        guard var sharing else {
            // Rows come ordered by file, and a file's rows on several endpoints share the first one's strings; each
            // endpoint id is kept once (there are few: found by a scan). (300,000 rows hold 4 copies of the same
            // few strings otherwise: tens of megabytes.) Columns are read by position: a name lookup compares names
            // case-insensitively.
            var files: [OwnedFile] = []
            files.reserveCapacity(count)
            var endpoints: [String] = []
            while let row = try rows.next() {
                var endpointID: String = row[0]
                if let kept = endpoints.first(where: { $0 == endpointID }) {
                    endpointID = kept
                } else {
                    endpoints.append(endpointID)
                }
                var record = OwnedFile(
                    endpointID: endpointID, remoteID: row[1], file: row[2], digest: row[3], bytes: row[4],
                    filename: row[5], purpose: row[6], createdAt: row[7],
                    deletionPolicy: DeletionPolicy(rawValue: row[8]) ?? .delete, unifiedID: row[9])
                if let last = files.indices.last, files[last].file == record.file {
                    record.file = files[last].file
                    if files[last].unifiedID == record.unifiedID { record.unifiedID = files[last].unifiedID }
                    if files[last].digest == record.digest { record.digest = files[last].digest }
                    if files[last].filename == record.filename { record.filename = files[last].filename }
                }
                files.append(record)
            }
            return files
        }
        // With the pass's strings: each row's text is read as bytes where SQLite keeps it, and a string is made
        // only of what differs from the pass's own (`SharedStrings.record`): for a converged pass, the remote id
        // alone, which is then shared with the listing.
        let sqlite = statement.sqliteStatement
        func text(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
            // (`sqlite3_column_text` first, then its length in bytes, as SQLite documents.)
            let start = sqlite3_column_text(sqlite, column)
            return UnsafeBufferPointer(start: start, count: start == nil ? 0 : Int(sqlite3_column_bytes(sqlite, column)))
        }
        func record() -> OwnedFile {
            sharing.record(
                OwnedFile.SharedStrings.Columns(
                    endpointID: text(0), remoteID: text(1), file: text(2), unifiedID: text(9), digest: text(3),
                    filename: text(5), purpose: text(6), bytes: sqlite3_column_int64(sqlite, 4),
                    createdAt: sqlite3_column_int64(sqlite, 7),
                    deletionPolicy: DeletionPolicy(rawValue: String(decoding: text(8), as: UTF8.self)) ?? .delete))
        }
        guard count > 0 else { return [] }
        // This thread steps SQLite and makes the records, in place in the result; each run of `sharingChunk` rows
        // then has its remote ids shared with the listings (looking them up is most of the work that is left). In a
        // large read (`parallelSharingRows`) that is done on another thread while the next rows are read, at most
        // `sharingAhead` chunks behind: the rows' own copies are freed while the read goes on, so their memory is
        // taken again by the next rows (held to the end, the copies of 300,000 rows would be megabytes of the
        // pass's peak).
        let onOtherThreads = count >= parallelSharingRows
        let idSharing = sharing
        return try [OwnedFile](unsafeUninitializedCapacity: count) { buffer, initialized in
            let slots = Parallel.Slots(base: buffer.baseAddress!)
            let jobs = DispatchGroup()
            let ahead = DispatchSemaphore(value: sharingAhead)
            let queue = DispatchQueue.global(qos: .userInitiated)
            func share(_ range: Range<Int>) {
                guard !range.isEmpty else { return }
                guard onOtherThreads else {
                    for index in range { sharing.shareRemoteID(&slots.base[index]) }
                    return
                }
                ahead.wait()
                queue.async(group: jobs) {
                    var sharing = idSharing
                    for index in range { sharing.shareRemoteID(&slots.base[index]) }
                    ahead.signal()
                }
            }
            var read = 0
            var chunkStart = 0
            do {
                while try rows.next() != nil {
                    guard read < count else {
                        throw DatabaseError(message: "owned_files changed during a read transaction")
                    }
                    (slots.base + read).initialize(to: record())
                    read += 1
                    if read - chunkStart == sharingChunk {
                        share(chunkStart..<read)
                        chunkStart = read
                    }
                }
                share(chunkStart..<read)
            } catch {
                jobs.wait()
                initialized = read
                throw error
            }
            jobs.wait()
            initialized = read
        }
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
        // Cached statements (here and in `recordOwned`): a first apply of 2,000 small files compiled these 6,000
        // times, and SQLite's authorizer callbacks alone were 4 % of its CPU.
        try writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO intents (endpoint_id, file, digest, bytes, filename, purpose, deletion_policy, started_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [endpointID, file, digest, bytes, filename, purpose, deletionPolicy.rawValue, startedAt])
            return db.lastInsertedRowID
        }
    }

    /// Records an upload's answer: the file becomes owned and its intent is closed, in one transaction.
    /// Also used to adopt an upload found for an intent.
    public func recordOwned(_ owned: OwnedFile, closingIntent intentID: Int64?, at now: Int64) throws {
        try writer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO owned_files (endpoint_id, remote_id, file, unified_id, digest, bytes, filename,
                        purpose, created_at, deletion_policy, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                owned.endpointID, owned.remoteID, owned.file, owned.unifiedID, owned.digest, owned.bytes,
                owned.filename, owned.purpose, owned.createdAt, owned.deletionPolicy.rawValue, now,
            ])
            if let intentID {
                try db.cachedStatement(sql: "DELETE FROM intents WHERE id = ?").execute(arguments: [intentID])
            }
            try db.cachedStatement(sql: "DELETE FROM placement_errors WHERE file = ? AND endpoint_id = ?")
                .execute(arguments: [owned.file, owned.endpointID])
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
            // The stored listing no longer is the one fingerprinted.
            try db.execute(
                sql: "DELETE FROM snapshots WHERE name = ?", arguments: [Self.listingFingerprintPrefix + endpointID])
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

    /// Endpoints on which Ferry owns at least one file (cheaper than loading every owned file to find them).
    public func ownedEndpointIDs() throws -> Set<String> {
        try writer.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT endpoint_id FROM owned_files")) }
    }
}
