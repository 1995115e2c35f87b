import FerryCore
import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Errors opening or using the state database.
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The single owner of Ferry's SQLite state: listings, owned files, intents, digests, runs and the lease.
/// Write methods are named for intent and each runs in one transaction.
public final class StateStore: Sendable {
    /// `PRAGMA application_id` of Ferry state files ("FRRY").
    public static let applicationID: Int32 = 0x4652_5259

    let writer: any DatabaseWriter
    public let path: String

    /// Opens (creating if needed) the state database at `path`, in WAL mode, and runs migrations.
    /// - Parameter readOnly: open an existing database without ever writing (the status server).
    /// - Throws: `StateStoreError` when the file is not a SQLite database, belongs to another program,
    ///   or was written by a newer Ferry.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.label = "ferry-state"
        if !readOnly {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } else if !FileManager.default.fileExists(atPath: path) {
            throw StateStoreError("state database \(path) does not exist; run 'ferry apply' or 'ferry reconcile' first")
        }
        // Two processes creating the same new database (overlapping cron runs) must not interleave
        // WAL setup and migrations: serialise opening with an advisory lock beside the database.
        let initLock = readOnly ? nil : try InitLock(path: path + ".lock")
        defer { initLock?.unlock() }
        do {
            // Check what an existing file is before opening it for writing (which would switch it to WAL).
            if FileManager.default.fileExists(atPath: path) {
                var probe = Configuration()
                probe.readonly = true
                let queue = try DatabaseQueue(path: path, configuration: probe)
                try Self.checkIdentity(queue, path: path)
                try queue.close()
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly {
                try Self.migrator.migrate(pool)
            } else {
                let applied = try pool.read { db in try Self.migrator.appliedIdentifiers(db) }
                if applied.isEmpty { throw StateStoreError("state database \(path) is empty; run 'ferry apply' first") }
            }
            self.writer = pool
        } catch let error as StateStoreError {
            throw error
        } catch let error as DatabaseError {
            throw StateStoreError(
                "cannot open state database \(path): \(error.message ?? "\(error.resultCode)") "
                    + "(is it a Ferry state file? move it aside or pass --state with another path)")
        }
    }

    static func checkIdentity(_ pool: some DatabaseReader, path: String) throws {
        try pool.read { db in
            let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            let tables = names.count
            // A creation killed before its first migration committed leaves at most GRDB's bookkeeping table and
            // no application id: that file is Ferry's, not yet initialised, and migrating it is safe.
            let unfinished = id == 0 && Set(names).isSubset(of: ["grdb_migrations"])
            if id != applicationID && !unfinished {
                throw StateStoreError(
                    "\(path) is a SQLite database that does not belong to Ferry; pass --state with another path")
            }
            if tables > 0 {
                let known = Set(migrator.migrations)
                let applied = try migrator.appliedIdentifiers(db)
                if !applied.isSubset(of: known) {
                    throw StateStoreError(
                        "state database \(path) was written by a newer Ferry (migrations \(applied.subtracting(known).sorted())); upgrade Ferry")
                }
            }
        }
    }

    /// Migrations. One that has shipped is never edited; add a new one instead.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Set in the same transaction as the schema, so a concurrent opener never sees Ferry's tables
            // without Ferry's application id.
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(
                sql: """
                    CREATE TABLE endpoints (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        display_name TEXT NOT NULL,
                        base_url TEXT NOT NULL,
                        observed_at INTEGER,
                        listed INTEGER,
                        pages INTEGER,
                        error TEXT,
                        last_success_at INTEGER
                    );
                    CREATE TABLE observed_files (
                        endpoint_id TEXT NOT NULL,
                        remote_id TEXT NOT NULL,
                        filename TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        purpose TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        status_details TEXT,
                        PRIMARY KEY (endpoint_id, remote_id)
                    );
                    CREATE TABLE owned_files (
                        endpoint_id TEXT NOT NULL,
                        remote_id TEXT NOT NULL,
                        file TEXT NOT NULL,
                        unified_id TEXT NOT NULL,
                        digest TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        filename TEXT NOT NULL,
                        purpose TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        deletion_policy TEXT NOT NULL,
                        recorded_at INTEGER NOT NULL,
                        PRIMARY KEY (endpoint_id, remote_id)
                    );
                    CREATE INDEX owned_files_by_file ON owned_files (file);
                    CREATE TABLE intents (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        endpoint_id TEXT NOT NULL,
                        file TEXT NOT NULL,
                        digest TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        filename TEXT NOT NULL,
                        purpose TEXT NOT NULL,
                        deletion_policy TEXT NOT NULL,
                        started_at INTEGER NOT NULL
                    );
                    CREATE TABLE digest_cache (
                        path TEXT PRIMARY KEY NOT NULL,
                        size INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL,
                        inode INTEGER NOT NULL,
                        digest TEXT NOT NULL
                    );
                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        command TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        finished_at REAL,
                        outcome TEXT,
                        summary TEXT,
                        applied INTEGER NOT NULL DEFAULT 0,
                        failed INTEGER NOT NULL DEFAULT 0,
                        requests INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE run_events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                        at REAL NOT NULL,
                        level TEXT NOT NULL,
                        file TEXT,
                        endpoint_id TEXT,
                        action TEXT,
                        message TEXT NOT NULL
                    );
                    CREATE INDEX run_events_by_run ON run_events (run_id);
                    CREATE TABLE placement_errors (
                        file TEXT NOT NULL,
                        endpoint_id TEXT NOT NULL,
                        action TEXT NOT NULL,
                        message TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 1,
                        PRIMARY KEY (file, endpoint_id)
                    );
                    CREATE TABLE desired_files (
                        name TEXT PRIMARY KEY NOT NULL,
                        unified_id TEXT NOT NULL UNIQUE,
                        source_path TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        digest TEXT NOT NULL,
                        purpose TEXT NOT NULL,
                        filename TEXT NOT NULL,
                        target_models TEXT NOT NULL,
                        labels TEXT NOT NULL,
                        deletion_policy TEXT NOT NULL,
                        declared_by TEXT NOT NULL
                    );
                    CREATE TABLE placements (
                        file TEXT NOT NULL,
                        endpoint_id TEXT NOT NULL,
                        models TEXT NOT NULL,
                        state TEXT NOT NULL,
                        remote_id TEXT,
                        pending_action TEXT,
                        detail TEXT,
                        PRIMARY KEY (file, endpoint_id)
                    );
                    CREATE TABLE leases (
                        name TEXT PRIMARY KEY NOT NULL,
                        holder TEXT NOT NULL,
                        acquired_at REAL NOT NULL,
                        expires_at REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE request_stats (
                        endpoint_id TEXT NOT NULL,
                        operation TEXT NOT NULL,
                        requests INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0,
                        retries INTEGER NOT NULL DEFAULT 0,
                        latency_seconds REAL NOT NULL DEFAULT 0,
                        PRIMARY KEY (endpoint_id, operation)
                    );
                    CREATE TABLE snapshots (
                        name TEXT PRIMARY KEY NOT NULL,
                        json TEXT NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    """)
        }
        return migrator
    }

    /// Identifiers of applied migrations, for diagnostics and tests.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    /// `PRAGMA integrity_check`; "ok" when healthy.
    public func integrityCheck() throws -> String {
        try writer.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }
}

/// An exclusive `flock` held while a database is opened and migrated.
struct InitLock {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StateStoreError("cannot create lock file \(path): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                throw StateStoreError("cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func unlock() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
