/// The manifest root as the loader sees it. The engine implements it over the file system; tests use a fake.
/// Keeping it behind a protocol keeps the loader free of I/O.
public protocol SourceTree: Sendable {
    /// Inspects a normalised path relative to the root. Called from several threads at once for a large FileSet.
    func inspect(_ relativePath: String) -> SourceInspection
    /// Every regular file under `directory` (relative to the root, `""` for the root), sorted, for glob matching.
    func files(under directory: String) -> [String]
}

/// What the source tree says about one path.
public enum SourceInspection: Hashable, Sendable {
    case file(bytes: Int64)
    case missing
    case notRegularFile
    /// A symlink (or a chain of them) that resolves outside the root.
    case escapesRoot(resolved: String)
    case unreadable(reason: String)
}
