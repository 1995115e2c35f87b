import Foundation

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
