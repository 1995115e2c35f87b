/// One problem found while loading manifests or inputs, with the place it was found and how to fix it.
public struct Diagnostic: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Severity: String, Codable, Sendable { case error, warning, note }

    public var severity: Severity
    /// Path as the user wrote or sees it (relative to the working directory where possible).
    public var file: String
    /// 1-based line; 0 when the problem has no line (e.g. a missing file).
    public var line: Int
    /// 1-based column; 0 when unknown.
    public var column: Int
    public var message: String
    /// What to do about it.
    public var hint: String?

    public init(
        _ severity: Severity = .error, file: String, line: Int = 0, column: Int = 0, message: String,
        hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    /// `path:line:column: error: message (hint: …)`, on one line.
    public var description: String {
        var place = file
        if line > 0 {
            place += ":\(line)"
            if column > 0 { place += ":\(column)" }
        }
        var text = "\(place): \(severity.rawValue): \(message)"
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

/// Thrown when inputs have at least one error; carries every diagnostic found, not just the first.
public struct ValidationFailed: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]
    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var description: String {
        let body = diagnostics.map(\.description).joined(separator: "\n")
        let count = errors.count
        return body + "\n\(count) error\(count == 1 ? "" : "s") found; nothing was changed."
    }
}
