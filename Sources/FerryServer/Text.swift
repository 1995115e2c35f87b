import Foundation

/// Escapes text for HTML element content and quoted attribute values.
func html(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// Removes what must never reach a reader from free text stored by the engine (error messages, details,
/// summaries): absolute filesystem paths and anything shaped like a credential. Ids, names and base URLs
/// pass unchanged.
struct Redactor: Sendable {
    /// Top-level directories whose paths are always treated as filesystem paths.
    private static let knownRoots: Set<String> = [
        "home", "Users", "root", "tmp", "var", "etc", "opt", "private", "mnt", "srv", "usr", "Volumes", "workspace",
        "builds", "runner", "github", "work", "data", "proc", "dev", "sys", "Library", "System", "nix",
    ]

    /// Extra literal secrets to hide (the status token).
    private let literals: [String]
    private let localRoots: Set<String>

    init(secrets: [String] = []) {
        self.literals = secrets.filter { $0.count >= 4 }
        // Directories at the root of this machine: a path starting with one of them is a local path.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/")) ?? []
        self.localRoots = Redactor.knownRoots.union(entries)
    }

    func callAsFunction(_ text: String?) -> String? { text.map(redact) }

    func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var out = redactTokens(text)
        for literal in literals where out.contains(literal) {
            out = out.replacingOccurrences(of: literal, with: "<redacted>")
        }
        return out
    }

    private func redactTokens(_ text: String) -> String {
        let lowered = text.lowercased()
        guard
            text.contains("/") || text.contains("~") || text.contains("sk-") || lowered.contains("bearer")
                || lowered.contains("key") || lowered.contains("authorization") || lowered.contains("token")
                || lowered.contains("password") || lowered.contains("secret")
        else { return text }
        var out = ""
        var tokenStart: String.Index? = nil
        var pendingSecret = false
        var index = text.startIndex
        func flush(upTo end: String.Index) {
            guard let start = tokenStart else { return }
            out += redactToken(text[start..<end], afterSecretWord: pendingSecret)
            pendingSecret = Redactor.isSecretWord(text[start..<end])
            tokenStart = nil
        }
        while index < text.endIndex {
            let character = text[index]
            if Redactor.separators.contains(character) {
                flush(upTo: index)
                out.append(character)
            } else if tokenStart == nil {
                tokenStart = index
            }
            index = text.index(after: index)
        }
        flush(upTo: text.endIndex)
        return out
    }

    private static let separators: Set<Character> = [
        " ", "\t", "\n", "\r", "\"", "'", "(", ")", "[", "]", ",", ";", "<", ">", "`", "=",
    ]

    private static func isSecretWord(_ token: Substring) -> Bool {
        let lowered = token.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ":"))
        return ["bearer", "api-key", "api_key", "apikey", "x-api-key", "authorization", "token", "password", "secret"]
            .contains(lowered)
    }

    private func redactToken(_ token: Substring, afterSecretWord: Bool) -> String {
        // Punctuation that ends a sentence or a label is kept outside the redaction.
        let trailing = token.reversed().prefix { ":.,!?".contains($0) }.count
        if trailing > 0, trailing < token.count {
            return redactToken(token.dropLast(trailing), afterSecretWord: afterSecretWord) + token.suffix(trailing)
        }
        if afterSecretWord, token.count >= 8, !Redactor.isSecretWord(token) { return "<redacted>" }
        if token.hasPrefix("sk-"), token.count >= 12 { return "sk-<redacted>" }
        if token.hasPrefix("file://") { return "<path>" }
        if token.hasPrefix("/"), isLocalPath(token) { return "<path>" }
        if token.hasPrefix("~/") { return "<path>" }
        return String(token)
    }

    private func isLocalPath(_ token: Substring) -> Bool {
        let first = token.dropFirst().prefix { $0 != "/" }
        return !first.isEmpty && localRoots.contains(String(first))
    }
}

/// Times as people read them: UTC date and time, and how long ago.
enum TimeText {
    /// `2024-05-01 12:00:00 UTC`.
    static func utc(_ seconds: Double) -> String {
        let whole = Int64(seconds.rounded(.down))
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let secondsOfDay = whole - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):"
            + "\(two(secondsOfDay % 60)) UTC"
    }

    /// `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `in the future`.
    static func ago(_ seconds: Double, now: Double) -> String {
        let delta = now - seconds
        if delta < -1 { return "in the future" }
        if delta < 60 { return "\(Int(max(0, delta))) s ago" }
        if delta < 3600 { return "\(Int(delta / 60)) min ago" }
        if delta < 86_400 { return "\(Int(delta / 3600)) h ago" }
        return "\(Int(delta / 86_400)) d ago"
    }

    /// `1.25 s`, `3 min 4 s`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
