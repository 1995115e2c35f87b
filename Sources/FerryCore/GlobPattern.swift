/// Glob patterns over `/`-separated relative paths: `*` and `?` within a segment, `[abc]`/`[a-z]`/`[!a]`
/// classes, and `**` for any number of segments.
public struct GlobPattern: Hashable, Sendable {
    public let pattern: String
    /// The pattern's segments, each in the cheapest form that matches it the same way (a pattern is matched against
    /// every file under its folder: 10,000 paths for one FileSet).
    private let compiled: [Segment]

    private enum Segment: Hashable, Sendable {
        /// `**`.
        case anyDepth
        /// No wildcard: equal text.
        case literal(String)
        /// `*` followed by literal text: the segment ends with it.
        case suffix(String)
        /// Anything else, matched character by character.
        case wildcard([Character])

        init(_ segment: String) {
            let special: (Character) -> Bool = { "*?[".contains($0) }
            if segment == "**" {
                self = .anyDepth
            } else if !segment.contains(where: special) {
                self = .literal(segment)
            } else if segment.first == "*", !segment.dropFirst().contains(where: special) {
                self = .suffix(String(segment.dropFirst()))
            } else {
                self = .wildcard(Array(segment))
            }
        }
    }

    /// - Throws: a message when the pattern is malformed (an unclosed `[`, an empty pattern, `**` inside a segment).
    public init(_ pattern: String) throws(GlobError) {
        guard !pattern.isEmpty else { throw GlobError(message: "the pattern is empty") }
        if pattern.hasPrefix("/") { throw GlobError(message: "the pattern must be relative, not start with '/'") }
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for segment in segments {
            if segment.contains("**") && segment != "**" {
                throw GlobError(message: "'**' must be a whole path segment, as in 'docs/**/*.md'")
            }
            var inClass = false
            for character in segment {
                if character == "[" { if inClass { break }; inClass = true }
                if character == "]" { inClass = false }
            }
            if inClass { throw GlobError(message: "unclosed '[' in '\(segment)'") }
        }
        self.pattern = pattern
        self.compiled = segments.map(Segment.init)
    }

    /// Whether a normalised relative path matches the whole pattern.
    public func matches(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return Self.match(compiled[...], parts[...])
    }

    /// The literal leading directories of the pattern, to limit the walk.
    public var literalPrefix: String {
        var prefix: [String] = []
        for segment in compiled.dropLast() {
            guard case .literal(let text) = segment else { break }
            prefix.append(text)
        }
        return prefix.joined(separator: "/")
    }

    private static func match(_ pattern: ArraySlice<Segment>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == .anyDepth {
            let rest = pattern.dropFirst()
            var remaining = path
            while true {
                if match(rest, remaining) { return true }
                if remaining.isEmpty { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let head = path.first else { return false }
        let matched: Bool
        switch first {
        case .anyDepth: matched = false  // handled above
        case .literal(let text): matched = head == text
        case .suffix(let text): matched = head.hasSuffix(text)
        case .wildcard(let characters): matched = matchSegment(characters, Array(head))
        }
        return matched && match(pattern.dropFirst(), path.dropFirst())
    }

    private static func matchSegment(_ pattern: [Character], _ text: [Character]) -> Bool {
        // Iterative wildcard matching with backtracking on the last `*`.
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if p < pattern.count, let width = matchOne(pattern, p, text[t]) {
                p += width
                t += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// Matches one character at `pattern[index]`; returns how many pattern characters it used, or nil.
    private static func matchOne(_ pattern: [Character], _ index: Int, _ character: Character) -> Int? {
        let token = pattern[index]
        if token == "?" { return 1 }
        if token != "[" { return token == character ? 1 : nil }
        var i = index + 1
        var negate = false
        if i < pattern.count, pattern[i] == "!" || pattern[i] == "^" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.count, pattern[i] != "]" || first {
            first = false
            if i + 2 < pattern.count, pattern[i + 1] == "-", pattern[i + 2] != "]" {
                if pattern[i] <= character && character <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if pattern[i] == character { matched = true }
                i += 1
            }
        }
        guard i < pattern.count else { return nil }
        return matched != negate ? i - index + 1 : nil
    }
}

/// A malformed glob pattern.
public struct GlobError: Error, Hashable, Sendable {
    public var message: String
}
