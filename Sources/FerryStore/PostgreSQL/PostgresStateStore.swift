import FerryCore
import Foundation
import PostgresNIO

/// Ferry's state in a shared PostgreSQL database (`--state postgres://…`), in the schema `ferry`.
///
/// Every row carries its workspace and every statement filters on it, so repositories sharing one database never
/// see or prune each other's files. Migrations are versioned like SQLite's (`ferry.migrations` lists the applied
/// ones); a database migrated by a newer Ferry is refused. The writer lease is a row per workspace with a TTL,
/// renewed by the engine's heartbeat, so it works across hosts.
public final class PostgresStateStore: StateStore {
    let session: PostgresSession
    public let workspace: String
    /// The parsed URL; its description hides the password.
    public let url: PostgresLocation
    public var location: String { url.description }
    public var filePath: String? { nil }

    /// Connects and migrates (or, read-only, checks that a Ferry schema exists and is not newer than this Ferry).
    /// - Throws: `StateStoreError` (`connectionFailed`, `newerVersion`, `emptyDatabase`, `queryFailed`); messages
    ///   show the URL without its password.
    public init(location: PostgresLocation, workspace: String, readOnly: Bool = false) throws {
        self.url = location
        self.workspace = workspace
        self.session = PostgresSession(location: location, workspace: workspace, readOnly: readOnly)
        if readOnly {
            let applied = try session.withConnection { connection -> [String] in
                let exists = try connection.query("SELECT to_regclass('ferry.migrations') IS NOT NULL")
                guard try exists.first?.get(0, as: Bool.self) == true else { return [] }
                return try connection.query("SELECT name FROM migrations").map { try $0.get(0, as: String.self) }
            }
            if applied.isEmpty { throw StateStoreError.emptyDatabase(location.description) }
            let unknown = Set(applied).subtracting(Self.migrations.map(\.name))
            if !unknown.isEmpty {
                throw StateStoreError.newerVersion(location.description, migrations: unknown.sorted())
            }
        } else {
            try migrate()
        }
    }

    deinit { session.close() }

    public func appliedMigrations() throws -> [String] {
        try session.withConnection { connection in
            try connection.query("SELECT name FROM migrations ORDER BY name").map { try $0.get(0, as: String.self) }
        }
    }

    public func integrityCheck() throws -> String {
        // The server keeps its own integrity; check what Ferry relies on: every owned file's workspace rows exist.
        try session.withConnection { connection in
            let rows = try connection.query(
                "SELECT COUNT(*) FROM run_events e WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = e.run_id)")
            return try rows.first?.get(0, as: Int.self) == 0 ? "ok" : "orphaned run events"
        }
    }

    /// Closes the connection now (it is also closed when the store is released).
    public func close() { session.close() }

    // MARK: Digest cache

    public func cachedDigests() throws -> [String: (FileStamp, String)] {
        try session.withConnection { connection in
            var result: [String: (FileStamp, String)] = [:]
            for row in try connection.query(
                "SELECT path, size, mtime_ns, inode, digest FROM digest_cache WHERE workspace = $1", binds(workspace))
            {
                let (path, size, mtime, inode, digest) = try row.decode((String, Int64, Int64, Int64, String).self)
                result[path] = (FileStamp(size: size, mtimeNanoseconds: mtime, inode: inode), digest)
            }
            return result
        }
    }

    public func storeDigests(_ digests: [String: (FileStamp, String)]) throws {
        guard !digests.isEmpty else { return }
        let entries = Array(digests)
        try session.transaction { connection in
            try connection.execute(
                """
                INSERT INTO digest_cache (workspace, path, size, mtime_ns, inode, digest)
                SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[])
                ON CONFLICT (workspace, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                    inode = excluded.inode, digest = excluded.digest
                """,
                binds(
                    workspace, entries.map(\.key), entries.map(\.value.0.size),
                    entries.map(\.value.0.mtimeNanoseconds), entries.map(\.value.0.inode), entries.map(\.value.1)))
        }
    }

    // MARK: Lease

    private func lease(_ row: PostgresRow) throws -> LeaseHolder {
        LeaseHolder(holder: try row.get(0), acquiredAt: try row.get(1), expiresAt: try row.get(2))
    }

    public func acquireLease(
        _ name: String, holder: String, ttl: Double, now: Double, isAbandoned: (LeaseHolder) -> Bool
    ) throws -> LeaseHolder? {
        try session.transaction { connection in
            // Serialises takers of this workspace's lease, also when no row exists yet.
            try connection.query("SELECT pg_advisory_xact_lock(hashtext('ferry-lease/' || $1 || '/' || $2))",
                binds(workspace, name))
            if let row = try connection.query(
                "SELECT holder, acquired_at, expires_at FROM leases WHERE workspace = $1 AND name = $2",
                binds(workspace, name)
            ).first {
                let current = try lease(row)
                if current.holder != holder && current.expiresAt > now && !isAbandoned(current) { return current }
            }
            try connection.execute(
                """
                INSERT INTO leases (workspace, name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (workspace, name) DO UPDATE SET holder = excluded.holder,
                    acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at
                        ELSE excluded.acquired_at END,
                    expires_at = excluded.expires_at
                """, binds(workspace, name, holder, now, now + ttl))
            return nil
        }
    }

    public func renewLease(_ name: String, holder: String, ttl: Double, now: Double) throws -> Bool {
        try session.withConnection { connection in
            try connection.execute(
                "UPDATE leases SET expires_at = $4 WHERE workspace = $1 AND name = $2 AND holder = $3",
                binds(workspace, name, holder, now + ttl)) == 1
        }
    }

    public func releaseLease(_ name: String, holder: String) throws {
        try session.withConnection { connection in
            try connection.execute(
                "DELETE FROM leases WHERE workspace = $1 AND name = $2 AND holder = $3", binds(workspace, name, holder))
        }
    }

    public func leaseHolder(_ name: String) throws -> LeaseHolder? {
        try session.withConnection { connection in
            try connection.query(
                "SELECT holder, acquired_at, expires_at FROM leases WHERE workspace = $1 AND name = $2",
                binds(workspace, name)
            ).first.map(lease)
        }
    }

    public func forceReleaseLease(_ name: String) throws -> LeaseHolder? {
        try session.withConnection { connection in
            try connection.query(
                "DELETE FROM leases WHERE workspace = $1 AND name = $2 RETURNING holder, acquired_at, expires_at",
                binds(workspace, name)
            ).first.map(lease)
        }
    }
}
