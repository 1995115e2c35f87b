/// Unified ids: one stable id per desired file, derived from its name, so it survives content updates
/// and can be recomputed anywhere without the state store.
public enum UnifiedID {
    /// `file-ferry-` followed by 24 hex digits of SHA-256 over the file's name.
    public static func make(for name: String) -> String {
        "file-ferry-" + SHA256Digest.hex("ferry.unified-id.v1\u{0}" + name).prefix(24)
    }
}
