import GRDB

extension SQLiteStateStore {
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
        migrator.registerMigration("v3") { db in
            // Settings of the whole file; `workspace` is the workspace name this file holds.
            try db.execute(sql: "CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
        }
        migrator.registerMigration("v4") { db in
            // The revision each run applied (git HEAD or FERRY_REVISION), and the unified ids renames retired.
            try db.execute(
                sql: """
                    ALTER TABLE runs ADD COLUMN revision TEXT;
                    CREATE TABLE moved_files (
                        old_unified_id TEXT PRIMARY KEY NOT NULL,
                        old_name TEXT NOT NULL,
                        new_name TEXT NOT NULL,
                        new_unified_id TEXT NOT NULL,
                        moved_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v5") { db in
            // Each declared file's earliest provider created_at among its owned copies (the largest integer before
            // its first upload), kept by triggers, so a `/v1/files` page is read from an index instead of computing
            // and sorting the key of every declared file.
            let first = "COALESCE((SELECT MIN(o.created_at) FROM owned_files o WHERE o.file = %@), \(notUploaded))"
            func refresh(_ name: String) -> String {
                "UPDATE desired_files SET first_created_at = \(first.replacingOccurrences(of: "%@", with: name)) WHERE name = \(name);"
            }
            try db.execute(
                sql: """
                    ALTER TABLE desired_files ADD COLUMN first_created_at INTEGER NOT NULL DEFAULT \(notUploaded);
                    UPDATE desired_files SET first_created_at = \(first.replacingOccurrences(of: "%@", with: "desired_files.name"));
                    CREATE INDEX desired_files_by_created ON desired_files (first_created_at, unified_id);
                    CREATE INDEX desired_files_by_purpose_created ON desired_files (purpose, first_created_at, unified_id);
                    CREATE TRIGGER owned_files_first_created_insert AFTER INSERT ON owned_files BEGIN
                        \(refresh("NEW.file"))
                    END;
                    CREATE TRIGGER owned_files_first_created_delete AFTER DELETE ON owned_files BEGIN
                        \(refresh("OLD.file"))
                    END;
                    CREATE TRIGGER owned_files_first_created_update AFTER UPDATE OF file, created_at ON owned_files BEGIN
                        \(refresh("OLD.file"))
                        \(refresh("NEW.file"))
                    END;
                    CREATE TRIGGER desired_files_first_created AFTER INSERT ON desired_files BEGIN
                        \(refresh("NEW.name"))
                    END;
                    """)
        }
        migrator.registerMigration("v6") { db in
            // When the provider deletes a listed file by itself (Gemini's expirationTime, OpenAI's expires_at).
            try db.execute(sql: "ALTER TABLE observed_files ADD COLUMN expires_at INTEGER")
        }
        migrator.registerMigration("v7") { db in
            // Written with the snapshot's rows (`saveSnapshot`), so status pages read one table where they joined
            // two: each declared file's placements counted by state (a `/v1/files` page joined the placements of
            // every file on it), and each placement's unified id and file name (an `/api/v1/placements` page joined
            // the declared files). The placements are kept in their key's order (WITHOUT ROWID), so a page is read
            // from one b-tree instead of an index and then the table. And an index of only the listed files that
            // expire, which is all a placement page looks up in the listings (most providers set no expiry: it is
            // empty or small).
            let count = "(SELECT COUNT(*) FROM placements p WHERE p.file = desired_files.name"
            try db.execute(
                sql: """
                    ALTER TABLE desired_files ADD COLUMN placements INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE desired_files ADD COLUMN placements_in_sync INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE desired_files ADD COLUMN placements_processing INTEGER NOT NULL DEFAULT 0;
                    UPDATE desired_files SET placements = \(count)),
                        placements_in_sync = \(count) AND p.state = 'in-sync'),
                        placements_processing = \(count) AND p.state = 'processing');
                    CREATE TABLE placements_v7 (
                        file TEXT NOT NULL,
                        endpoint_id TEXT NOT NULL,
                        models TEXT NOT NULL,
                        state TEXT NOT NULL,
                        remote_id TEXT,
                        pending_action TEXT,
                        detail TEXT,
                        unified_id TEXT,
                        filename TEXT,
                        PRIMARY KEY (file, endpoint_id)
                    ) WITHOUT ROWID;
                    INSERT INTO placements_v7
                        SELECT p.file, p.endpoint_id, p.models, p.state, p.remote_id, p.pending_action, p.detail,
                            d.unified_id, d.filename
                        FROM placements p LEFT JOIN desired_files d ON d.name = p.file;
                    DROP TABLE placements;
                    ALTER TABLE placements_v7 RENAME TO placements;
                    CREATE INDEX observed_files_expiring ON observed_files (endpoint_id, remote_id)
                        WHERE expires_at IS NOT NULL;
                    """)
        }
        return migrator
    }

    /// `desired_files.first_created_at` of a file with no owned copy: it sorts after every uploaded file.
    static let notUploaded = Int64.max
}
