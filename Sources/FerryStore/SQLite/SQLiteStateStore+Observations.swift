import FerryCore
import Foundation
import GRDB

extension SQLiteStateStore {
    public func listingCuts(endpointID: String, parts: Int, minimumPerPart: Int) throws -> [String] {
        try writer.read { db in
            let count =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM observed_files WHERE endpoint_id = ?", arguments: [endpointID]) ?? 0
            let parts = min(parts, count / max(minimumPerPart, 1))
            guard parts > 1 else { return [] }
            // A walk of the primary key's index (endpoint_id, remote_id), in byte order (BINARY collation).
            let cut = try db.cachedStatement(
                sql: "SELECT remote_id FROM observed_files WHERE endpoint_id = ? ORDER BY remote_id LIMIT 1 OFFSET ?")
            return try (1..<parts).compactMap { part in
                try String.fetchOne(cut, arguments: [endpointID, count * part / parts])
            }
        }
    }

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
            // The same listing as last time (its fingerprint, and as many rows stored as it has): nothing to write.
            // Anything else that removes an observed row also removes the fingerprint (`removeOwned`).
            let fingerprintName = Self.listingFingerprintPrefix + endpoint.id
            let fingerprint = Self.listingFingerprint(files)
            if try String.fetchOne(db, sql: "SELECT json FROM snapshots WHERE name = ?", arguments: [fingerprintName])
                == fingerprint,
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM observed_files WHERE endpoint_id = ?", arguments: [endpoint.id])
                    == files.count
            {
                try Self.markListed(db, observation, endpoint: endpoint, count: files.count, pages: pages)
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
                    file.statusDetails.databaseValue, file.expiresAt.databaseValue,
                ]
            }
            if wanted.count == files.count {
                var stale: [String] = []
                let stored = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT remote_id, filename, bytes, purpose, created_at, status, status_details, expires_at
                        FROM observed_files WHERE endpoint_id = ?
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
                            status, status_details, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
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
                            status_details, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                for file in files {
                    try statement.execute(arguments: [
                        endpoint.id, file.id, file.filename, file.bytes, file.purpose, file.createdAt,
                        file.status.rawValue, file.statusDetails, file.expiresAt,
                    ])
                }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES (?, ?, ?)",
                arguments: [fingerprintName, fingerprint, Double(observation.observedAt)])
            try Self.markListed(db, observation, endpoint: endpoint, count: files.count, pages: pages)
        }
    }

    static func markListed(_ db: Database, _ observation: EndpointObservation, endpoint: Endpoint, count: Int, pages: Int)
        throws
    {
        try db.execute(
            sql: """
                UPDATE endpoints SET observed_at = ?, listed = ?, pages = ?, error = NULL, last_success_at = ?
                WHERE id = ?
                """, arguments: [observation.observedAt, count, pages, observation.observedAt, endpoint.id])
    }

    /// Names of the rows in `snapshots` that hold each endpoint's listing fingerprint.
    static let listingFingerprintPrefix = "observed-fingerprint:"

    /// SHA-256 over every stored column of every listed file, in listing order: equal only for the same listing.
    static func listingFingerprint(_ files: [RemoteFile]) -> String {
        var fingerprint = SnapshotFingerprint()
        fingerprint.add(listing: files)
        return fingerprint.hexDigest() ?? ""
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
                        statusDetails: row["status_details"], expiresAt: row["expires_at"]))
            }
            return result
        }
    }
}
