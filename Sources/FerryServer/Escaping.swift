/// Escaping text where the status view writes it: HTML content and attributes, and JSON strings. One loop, one
/// table per format.
enum Escaping {
    /// Appends `text` to `out`, each Unicode scalar that `replacement` names replaced. `mayNeedEscaping` is a
    /// quick test on the UTF-8 bytes: text with no byte it accepts is appended whole (most ids, names and dates).
    static func append(
        _ text: String, to out: inout String, mayNeedEscaping: (UInt8) -> Bool,
        replacement: (Unicode.Scalar) -> String?
    ) {
        guard text.utf8.contains(where: mayNeedEscaping) else {
            out += text
            return
        }
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                out += replaced
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    /// The five characters that matter in HTML content and quoted attribute values.
    static let htmlEntities: [Unicode.Scalar: String] = [
        "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;",
    ]

    /// JSON's required escapes, plus `<`, `>`, `&`, U+2028 and U+2029 so the JSON is safe to embed anywhere HTML
    /// might sniff it. Other control characters become `\u00XX`.
    static let jsonEscapes: [Unicode.Scalar: String] = [
        "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "<": "\\u003c", ">": "\\u003e",
        "&": "\\u0026", "\u{2028}": "\\u2028", "\u{2029}": "\\u2029",
    ]

    /// The bytes after which `appendJSONString` looks closer: controls, `"`, `\`, `<`, `>`, `&`, and 0xE2, which
    /// leads the UTF-8 of U+2028 and U+2029. (A table: under callgrind, half the instructions of bit masks.)
    static let jsonMayEscape: [Bool] = (0...255).map { (byte: Int) -> Bool in
        byte < 0x20 || [0x22, 0x5C, 0x3C, 0x3E, 0x26, 0xE2].contains(byte)
    }

    /// Appends `value` as a quoted JSON string, as UTF-8 bytes. Escapes `jsonEscapes` and the other control
    /// characters; text without any byte that may need escaping (most ids, names and dates) is copied whole.
    static func appendJSONString(_ value: String, to out: inout ByteWriter) {
        var value = value
        value.withUTF8 { bytes in
            var plain = 0
            jsonMayEscape.withUnsafeBufferPointer { table in
                while plain < bytes.count, !table[Int(bytes[plain])] { plain += 1 }
            }
            out.reserve(plain + 2)
            out.append(UInt8(ascii: "\""))
            out.append(UnsafeBufferPointer(rebasing: bytes[..<plain]))
            if plain < bytes.count {
                for scalar in String(decoding: UnsafeBufferPointer(rebasing: bytes[plain...]), as: UTF8.self)
                    .unicodeScalars
                {
                    if let escape = jsonEscapes[scalar] {
                        out.append(escape)
                    } else if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                    } else {
                        out.append(String(scalar))
                    }
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Appends the decimal digits of `value` (no `String` in between).
    static func appendInteger(_ value: Int64, to out: inout ByteWriter) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
func html(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    Escaping.append(
        text, to: &out,
        mayNeedEscaping: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 },
        replacement: { Escaping.htmlEntities[$0] })
    return out
}
