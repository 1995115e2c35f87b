import Testing

@testable import FerryServer

@Suite("Status server: redaction and text")
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
    }

    /// HTML escaping covers the five characters that matter in content and quoted attributes.
    @Test func htmlEscaping() {
        #expect(
            html("<a href=\"x\">Tom & 'Jerry'</a>") == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        )
    }

    /// UTC times, ages and durations as the dashboard prints them.
    @Test func timeText() {
        #expect(TimeText.utc(0) == "1970-01-01 00:00:00 UTC")
        #expect(TimeText.utc(1_700_000_350) == "2023-11-14 22:19:10 UTC")
        #expect(TimeText.utc(951_782_400) == "2000-02-29 00:00:00 UTC")
        #expect(TimeText.ago(100, now: 142) == "42 s ago")
        #expect(TimeText.ago(0, now: 7200) == "2 h ago")
        #expect(TimeText.ago(0, now: 86_400 * 3) == "3 d ago")
        #expect(TimeText.ago(100, now: 50) == "in the future")
        #expect(TimeText.duration(12.5) == "12.50 s")
        #expect(TimeText.duration(184) == "3 min 4 s")
    }

    /// The JSON writer escapes what HTML might sniff and writes integral doubles as integers.
    @Test func jsonWriter() {
        let value = JSONValue.object([
            ("a", .string("<b>\"x\" & \\ \n\u{01}")), ("n", .double(3.0)), ("f", .double(1.5)), ("z", .null),
            ("l", .array([.bool(true), .int(-2)])),
        ])
        #expect(
            value.serialized()
                == #"{"a":"\u003cb\u003e\"x\" \u0026 \\ \n\u0001","n":3,"f":1.5,"z":null,"l":[true,-2]}"#
        )
    }
}
