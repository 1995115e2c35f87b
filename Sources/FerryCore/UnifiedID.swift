/// Unified ids: one stable id per desired file, derived from its name, so it survives content updates
/// and can be recomputed anywhere without the state store.
public enum UnifiedID {
    /// `file-ferry-` followed by 24 hex digits of SHA-256 over the file's name.
    public static func make(for name: String) -> String {
        // Fed in two pieces and written in one string (a declaration of 10,000 files makes 10,000 of these).
        var hasher = SHA256Digest()
        hasher.update(domain.utf8)
        hasher.update(name)
        return hasher.hexDigest(prefix: "file-ferry-", bytes: 12)
    }

    /// What the hash is over, before the name.
    private static let domain = "ferry.unified-id.v1\u{0}"
}
