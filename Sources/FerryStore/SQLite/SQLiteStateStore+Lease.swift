import GRDB

extension SQLiteStateStore {
    /// Takes the named lease if it is free, expired, or already ours. Returns nil on success, or the current holder.
    /// Runs in an immediate transaction, so two processes cannot both succeed.
    /// - Parameter isAbandoned: says whether a live-looking holder is known to be gone (e.g. a dead process on
    ///   this host), so its lease can be taken before it expires.
    public func acquireLease(
        _ name: String, holder: String, ttl: Double, now: Double, isAbandoned: (LeaseHolder) -> Bool
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
    public func renewLease(_ name: String, holder: String, ttl: Double, now: Double) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                arguments: [now + ttl, name, holder])
            return db.changesCount == 1
        }
    }

    public func releaseLease(_ name: String, holder: String) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM leases WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func leaseHolder(_ name: String) throws -> LeaseHolder? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM leases WHERE name = ?", arguments: [name]).map { row in
                LeaseHolder(holder: row["holder"], acquiredAt: row["acquired_at"], expiresAt: row["expires_at"])
            }
        }
    }

    public func forceReleaseLease(_ name: String) throws -> LeaseHolder? {
        try writer.write { db in
            let current = try Row.fetchOne(db, sql: "SELECT * FROM leases WHERE name = ?", arguments: [name]).map {
                LeaseHolder(holder: $0["holder"], acquiredAt: $0["acquired_at"], expiresAt: $0["expires_at"])
            }
            try db.execute(sql: "DELETE FROM leases WHERE name = ?", arguments: [name])
            return current
        }
    }
}
