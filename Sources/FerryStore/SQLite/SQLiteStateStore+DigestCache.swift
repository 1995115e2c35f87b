import GRDB

extension SQLiteStateStore {
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
