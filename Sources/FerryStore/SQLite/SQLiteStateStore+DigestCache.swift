import GRDB

extension SQLiteStateStore {
    /// Cached digests by path, with the stamp they were computed for.
    public func cachedDigests() throws -> [String: (FileStamp, String)] {
        try writer.read { db in
            var result = [String: (FileStamp, String)](
                minimumCapacity: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM digest_cache") ?? 0)
            try Self.forEachCachedDigest(db) { path, entry in result[path] = entry }
            return result
        }
    }

    public func cachedDigests(for paths: Set<String>) throws -> [String: (FileStamp, String)] {
        try writer.read { db in
            // Each row's path is looked up and dropped before the next row is read: kept as keys until the pass
            // had hashed its sources, 100,000 of them stayed resident as holes in the heap afterwards.
            var result = [String: (FileStamp, String)](minimumCapacity: paths.count)
            try Self.forEachCachedDigest(db) { path, entry in
                if let index = paths.firstIndex(of: path) { result[paths[index]] = entry }
            }
            return result
        }
    }

    /// Each row of the digest cache, read one at a time, columns by position: 100,000 rows fetched at once were
    /// 35 MB of row objects, freed again at once and left resident as holes in the heap for the rest of the pass.
    private static func forEachCachedDigest(_ db: Database, _ body: (String, (FileStamp, String)) -> Void) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT path, size, mtime_ns, inode, digest FROM digest_cache")
        while let row = try rows.next() {
            body(row[0], (FileStamp(size: row[1], mtimeNanoseconds: row[2], inode: row[3]), row[4]))
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
