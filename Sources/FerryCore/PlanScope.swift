/// Which declared names a plan may act on (`--target` / `--exclude`, like Terraform's `-target` and OpenTofu's
/// `-exclude`). Patterns are globs over file names: `*` matches any run of characters (`/` included), `?` one
/// character. A pattern also matches every name below it, so `--target handbooks` takes the whole FileSet
/// `handbooks` (`handbooks/a.md`, …), including members whose declaration was removed (their prune).
public struct PlanScope: Hashable, Codable, Sendable {
    /// Names to act on; empty means every name.
    public var targets: [String]
    /// Names never to act on, even when targeted.
    public var excludes: [String]

    public init(targets: [String] = [], excludes: [String] = []) {
        self.targets = targets
        self.excludes = excludes
    }

    /// No restriction.
    public static let everything = PlanScope()

    public var isEverything: Bool { targets.isEmpty && excludes.isEmpty }

    /// Whether actions on `name` are in scope.
    public func includes(_ name: String) -> Bool {
        (targets.isEmpty || targets.contains { Self.matches($0, name) }) && !excludes.contains { Self.matches($0, name) }
    }

    /// `pattern` matches `name` itself or one of its leading path segments (`a/b` for `a/b/c.md`).
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let pattern = Array(pattern.utf8)
        let name = Array(name.utf8)
        if glob(pattern[...], name[...]) { return true }
        for (index, byte) in name.enumerated() where byte == UInt8(ascii: "/") {
            if glob(pattern[...], name[..<index]) { return true }
        }
        return false
    }

    /// Iterative wildcard match with backtracking to the last `*`.
    static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: (p: Int, t: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = (p, t)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let last = star {
                p = last.p + 1
                t = last.t + 1
                star = (last.p, last.t + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// `--target a --exclude b`, for messages.
    public var flags: String {
        (targets.map { "--target \($0)" } + excludes.map { "--exclude \($0)" }).joined(separator: " ")
    }
}
