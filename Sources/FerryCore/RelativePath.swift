/// Pure path helpers for manifest-relative paths.
public enum RelativePath {
    /// Joins `base` and `path` and removes `.` and `..`. Returns nil when the result would leave the root.
    public static func normalize(_ path: String, relativeTo base: String) -> String? {
        var parts: [Substring] = []
        let joined = base.isEmpty ? path : base + "/" + path
        for component in joined.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if parts.isEmpty { return nil }
                parts.removeLast()
            default: parts.append(component)
            }
        }
        return parts.joined(separator: "/")
    }

    /// The directory part of a relative path (`""` for a top-level file).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// The last component of a path.
    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
