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
        var out = Self.mayHoldSecret(text) ? redactTokens(text) : text
        for literal in literals where out.contains(literal) {
            out = out.replacingOccurrences(of: literal, with: "<redacted>")
        }
        return out
    }

    /// Whether `text` has anything `redactTokens` could change: a `/` or `~` (paths), `sk-`, or a word that announces
    /// a credential. One pass over the bytes for ASCII text (most details and error messages; a page of placements
    /// asks for a few of these); other text is lowercased by Unicode's rules first.
    static func mayHoldSecret(_ text: String) -> Bool {
        let hints = ["sk-", "bearer", "key", "authorization", "token", "password", "secret"]
        let ascii: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return false }
            return true
        }
        guard ascii == true else {
            let lowered = text.lowercased()
            return text.contains("/") || text.contains("~") || hints.contains { lowered.contains($0) }
        }
        var lowered = [UInt8](text.utf8)
        for index in lowered.indices {
            let byte = lowered[index]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "~") { return true }
            if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { lowered[index] = byte + 32 }
        }
        return hints.contains { hint in
            let needle = Array(hint.utf8)
            guard lowered.count >= needle.count else { return false }
            return (0...(lowered.count - needle.count)).contains { start in
                lowered[start] == needle[0] && lowered[start..<(start + needle.count)].elementsEqual(needle)
            }
        }
    }

    /// Splits `text` into tokens at `separators` and redacts each (`redactToken`). ASCII text without carriage
    /// returns is split byte by byte, where every byte is a character; other text character by character.
    func redactTokens(_ text: String) -> String {
        let simple: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 && $0 != 0x0D }
        }
        guard simple == true else { return redactTokensByCharacter(text) }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var tokenStart: String.Index? = nil
        var pendingSecret = false
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if Redactor.separatorBytes.contains(byte) {
                if let start = tokenStart {
                    let token = text[start..<index]
                    out += redactToken(token, afterSecretWord: pendingSecret)
                    pendingSecret = Redactor.isSecretWord(token)
                    tokenStart = nil
                }
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else if tokenStart == nil {
                tokenStart = index
            }
            index = utf8.index(after: index)
        }
        if let start = tokenStart {
            out += redactToken(text[start...], afterSecretWord: pendingSecret)
        }
        return out
    }

    /// `redactTokens` for any text: splits at separator characters (a separator followed by a combining mark is
    /// not one, as `Character` comparison has it).
    func redactTokensByCharacter(_ text: String) -> String {
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

    /// `separators` as bytes (all ASCII).
    private static let separatorBytes: Set<UInt8> = Set(separators.map { $0.asciiValue! })

    private static let separators: Set<Character> = [
        " ", "\t", "\n", "\r", "\"", "'", "(", ")", "[", "]", ",", ";", "<", ">", "`", "=",
    ]

    private static let secretWords: Set<String> = [
        "bearer", "api-key", "api_key", "apikey", "x-api-key", "authorization", "token", "password", "secret",
    ]

    /// Whether a token announces a credential (`Bearer`, `api-key:`); colons around it do not count.
    private static func isSecretWord(_ token: Substring) -> Bool {
        let lowered = token.lowercased()
        let word = lowered.drop { $0 == ":" }.reversed().drop { $0 == ":" }.reversed()
        return secretWords.contains(String(word))
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
