import Foundation
import Testing

@testable import FerryServer

@Suite("Status server: redaction")
struct RedactorTests {
    /// Local absolute paths and credential-shaped values are hidden; URLs, ids and relative paths are not.
    @Test func redaction() {
        let redact = Redactor(secrets: ["status-token-123"])
        let cases: [(String, String)] = [
            ("cannot read /tmp/ferry/state.sqlite: busy", "cannot read <path>: busy"),
            ("open(/home/ci/src/a.md) failed.", "open(<path>) failed."),
            ("see file:///etc/passwd", "see <path>"),
            ("in ~/projects/x", "in <path>"),
            ("GET /v1/files returned 500", "GET /v1/files returned 500"),
            ("POST https://api.openai.com/v1/files: 429", "POST https://api.openai.com/v1/files: 429"),
            ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer <redacted>"),
            ("api-key=0123456789abcdef rejected", "api-key=<redacted> rejected"),
            ("key sk-proj-ABCDEFGHIJKLMN leaked", "key sk-<redacted> leaked"),
            ("token status-token-123 seen", "token <redacted> seen"),
            ("sources/faq/billing.md changed", "sources/faq/billing.md changed"),
            ("connection refused by 127.0.0.1:8090", "connection refused by 127.0.0.1:8090"),
            ("5/10 placements", "5/10 placements"),
            ("", ""),
        ]
        for (input, expected) in cases {
            #expect(redact.redact(input) == expected, "\(input)")
        }
        #expect(redact(nil) == nil)
        // Non-ASCII text takes the character-by-character path.
        #expect(redact.redact("échec : Bearer abcdefghijkl") == "échec : Bearer <redacted>")
        #expect(redact.redact("lu /home/ci/é.md") == "lu <path>")
    }

    /// The byte-by-byte paths (ASCII text) decide and redact exactly as the general ones, on texts made of the words
    /// and separators that matter, in random order.
    @Test func asciiPathsAgreeWithTheGeneralOnes() {
        let redact = Redactor()
        let words = [
            "Bearer", "bearer:", "API-KEY", "api_key", "Token", "password:", "SECRET", "x-api-key", "authorization:",
            "sk-proj-ABCDEFGHIJKL", "sk-x", "/tmp/ferry/a.md", "/v1/files", "~/x", "file:///etc/passwd", "abcdefghijkl",
            "ok.", "5/10", "http://127.0.0.1:8090/openai", "key", "KEY", "monkey", "tokens", "::token::", "",
        ]
        let separators = [" ", "\t", "\n", "\"", "'", "(", ")", "[", "]", ",", ";", "<", ">", "`", "=", ": "]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                text += words.randomElement(using: &generator)! + separators.randomElement(using: &generator)!
            }
            let lowered = text.lowercased()
            let reference =
                text.contains("/") || text.contains("~")
                || ["sk-", "bearer", "key", "authorization", "token", "password", "secret"].contains {
                    lowered.contains($0)
                }
            #expect(Redactor.mayHoldSecret(text) == reference, "\(text)")
            #expect(redact.redactTokens(text) == redact.redactTokensByCharacter(text), "\(text)")
        }
    }
}
