import Foundation
import Testing

@testable import FerryServer

@Suite("Status server: HTML escaping, times and JSON text")
struct TextFormattingTests {
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
        #expect(TimeText.utc(1.9) == "1970-01-01 00:00:01 UTC")
        #expect(TimeText.utc(-1) == "1969-12-31 23:59:59 UTC")
        #expect(TimeText.utc(4_102_444_799) == "2099-12-31 23:59:59 UTC")
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

    /// JSON strings escape line and paragraph separators and every control character as `\u00XX`; plain text is
    /// copied as is.
    @Test func jsonStringEscapes() {
        #expect(JSONValue.string("a\u{2028}b\u{2029}c\u{1F}\u{08}").serialized() == #""a\u2028b\u2029c\u001f\u0008""#)
        #expect(JSONValue.string("file-ferry-0123 é ✓").serialized() == "\"file-ferry-0123 é ✓\"")
        #expect(html("plain text ✓") == "plain text ✓")
    }

    /// The escaping test's table names exactly the bytes it documents, and every ASCII character comes out as
    /// JSON requires (the rest of U+2000 to U+202F, which share the lead byte 0xE2, is copied as it is).
    @Test func jsonEscapesByteByByte() {
        let named: Set<UInt8> = [0x22, 0x5C, 0x3C, 0x3E, 0x26, 0xE2]
        for byte in 0...255 {
            #expect(Escaping.jsonMayEscape[byte] == (byte < 0x20 || named.contains(UInt8(byte))), "byte \(byte)")
        }
        let special: [UInt8: String] = [
            0x22: "\\\"", 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x3C: "\\u003c", 0x3E: "\\u003e",
            0x26: "\\u0026",
        ]
        for byte in UInt8(0)..<0x80 {
            let text = String(UnicodeScalar(byte))
            let expected =
                special[byte] ?? (byte < 0x20 ? "\\u" + String(format: "%04x", Int(byte)) : text)
            #expect(JSONValue.string("a" + text + "b").serialized() == "\"a" + expected + "b\"", "byte \(byte)")
        }
        #expect(JSONValue.string("x\u{2026}\u{2028}y").serialized() == "\"x\u{2026}\\u2028y\"")
    }

    @Test func jsonIntegers() {
        for value: Int64 in [0, 7, -7, 10, 1_796_051_257, .max, .min] {
            #expect(JSONValue.int(value).serialized() == String(value))
        }
        #expect(JSONValue.double(1_796_051_257.0).serialized() == "1796051257")
        #expect(JSONValue.double(-3.0).serialized() == "-3")
        #expect(JSONValue.double(2.5).serialized() == "2.5")
    }
}
