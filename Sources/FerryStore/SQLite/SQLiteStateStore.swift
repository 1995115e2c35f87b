import FerryCore
import Foundation
import GRDB

/// Ferry's state in one SQLite file: listings, owned files, intents, digests, runs and the lease.
/// Write methods are named for intent and each runs in one transaction. One file holds one workspace: its name is
/// recorded when the file is first opened for writing, and opening it under another name is refused.
public final class SQLiteStateStore: StateStore {
    /// `PRAGMA application_id` of Ferry state files ("FRRY").
    public static let applicationID: Int32 = 0x4652_5259

    let writer: any DatabaseWriter
    /// The database file.
    public let path: String
    public let workspace: String
    public var location: String { path }
    public var filePath: String? { path }

    /// Opens (creating if needed) the state database at `path`, in WAL mode, and runs migrations.
    /// - Parameter readOnly: open an existing database without ever writing (the status server).
    /// - Throws: `StateStoreError` when the file is not a SQLite database, belongs to another program,
    ///   or was written by a newer Ferry.
    /// - Parameter workspace: the workspace name; a file recorded under another name is refused.
    public init(path: String, workspace: String = StateStores.defaultWorkspace, readOnly: Bool = false) throws {
        self.path = path
        self.workspace = workspace
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
            throw StateStoreError.missingDatabase(path)
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
                try pool.write { db in
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO settings (key, value) VALUES ('workspace', ?)", arguments: [workspace])
                }
            } else {
                let applied = try pool.read { db in try Self.migrator.appliedIdentifiers(db) }
                if applied.isEmpty { throw StateStoreError.emptyDatabase(path) }
                // The status view's queries read the latest layout: an older one fails here, not on every page.
                let missing = Set(Self.migrator.migrations).subtracting(applied)
                if !missing.isEmpty { throw StateStoreError.olderVersion(path, migrations: missing.sorted()) }
            }
            let recorded = try pool.read { db -> String? in
                guard try db.tableExists("settings") else { return nil }
                return try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'workspace'")
            }
            if let recorded, recorded != workspace {
                throw StateStoreError.workspaceMismatch(path, recorded: recorded, requested: workspace)
            }
            self.writer = pool
        } catch let error as StateStoreError {
            throw error
        } catch let error as DatabaseError {
            throw StateStoreError.cannotOpen(path, reason: error.message ?? "\(error.resultCode)")
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
                throw StateStoreError.foreignDatabase(path)
            }
            if tables > 0 {
                let known = Set(migrator.migrations)
                let applied = try migrator.appliedIdentifiers(db)
                if !applied.isSubset(of: known) {
                    throw StateStoreError.newerVersion(path, migrations: applied.subtracting(known).sorted())
                }
            }
        }
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
