/// Pure path helpers for manifest-relative paths.
public enum RelativePath {
    /// Joins `base` and `path` and removes `.` and `..`. Returns nil when the result would leave the root.
    public static func normalize(_ path: String, relativeTo base: String) -> String? {
        let joined = base.isEmpty ? path : base + "/" + path
        if isNormal(joined) { return joined }
        var parts: [Substring] = []
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

    /// Whether `path` is already normalised: no empty, `.` or `..` component, no leading or trailing `/` (one scan
    /// of its bytes, no allocation: every source of a 10,000-file FileSet comes from a walk and is normal already).
    public static func isNormal(_ path: String) -> Bool {
        var previous: UInt8 = UInt8(ascii: "/")  // as if after a separator: the first component starts here
        var componentStartsWithDot = false
        var componentLength = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                // An empty component, or one made of dots only up to two (`.`, `..`): not normal. Longer dot
                // names (`...`, `.hidden`) are ordinary names, but rare enough to leave to the slow path.
                if previous == UInt8(ascii: "/") || componentStartsWithDot { return false }
                componentLength = 0
            } else {
                if componentLength == 0 { componentStartsWithDot = byte == UInt8(ascii: ".") }
                componentLength += 1
            }
            previous = byte
        }
        return !path.isEmpty && previous != UInt8(ascii: "/") && !componentStartsWithDot
    }

    /// The directory part of a relative path (`""` for a top-level file). Paths are split at their last `/` byte, not
    /// by characters (faster, and a combining mark after a `/` does not hide it).
    public static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(path[..<slash])
    }

    /// The last component of a path.
    public static func baseName(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }
}
