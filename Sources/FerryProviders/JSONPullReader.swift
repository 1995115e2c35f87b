/// A forward-only reader over the bytes of one JSON text, for the large answers Ferry reads on every pass (list
/// pages of 10,000 file objects). Foundation's `JSONDecoder` builds a dictionary of keys for every object and
/// throws an error for every lenient type probe; a converged pass over 30,000 placements spent a third of its
/// instructions there. This reader visits members in document order, compares keys as bytes, converts only the
/// values asked for and skips the rest without building anything.
///
/// It accepts exactly RFC 8259 JSON (one value, surrounded by whitespace): anything else is a `Failure` that
/// names the byte offset. Strings are decoded with every escape (`\uD83D\uDE00` pairs included); invalid UTF-8
/// and lone surrogates become U+FFFD, as `String(decoding:)` does. Nesting deeper than 512 levels is refused.
struct JSONPullReader {
    /// Why the text could not be read, with the byte offset where reading stopped.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A member's key, compared without building a `String` unless it held an escape.
    struct Key {
        fileprivate let raw: UnsafeBufferPointer<UInt8>
        fileprivate let decoded: String?

        /// Whether the key is exactly `name` (ASCII names, as every key Ferry reads is).
        func matches(_ name: StaticString) -> Bool {
            if let decoded { return decoded == name.description }
            guard raw.count == name.utf8CodeUnitCount else { return false }
            let expected = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            return raw.elementsEqual(expected)
        }

        /// The key as a string.
        var string: String { decoded ?? String(decoding: raw, as: UTF8.self) }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private static let maxDepth = 512

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Reads one JSON text: `body` reads the top-level value, then only whitespace may follow.
    static func read<T>(_ bytes: UnsafeRawBufferPointer, _ body: (inout JSONPullReader) throws -> T) throws -> T {
        var reader = JSONPullReader(bytes.bindMemory(to: UInt8.self))
        reader.skipWhitespace()
        let start = reader.index
        let value = try body(&reader)
        if reader.index == start { try reader.skipValue() }
        reader.skipWhitespace()
        guard reader.index == reader.bytes.count else {
            throw reader.failure("unexpected '\(reader.describeByte())' after the JSON value")
        }
        return value
    }

    // MARK: Containers

    /// Visits each member of an object. `body` reads the member's value with one of the reading methods, or
    /// leaves it: an unread value is skipped. A value that is not an object is skipped and `false` returned.
    @discardableResult
    mutating func object(_ body: (inout JSONPullReader, Key) throws -> Void) throws -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            try skipValue()
            return false
        }
        try enter()
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return true
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try readKey()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after a member name") }
            index += 1
            skipWhitespace()
            let before = index
            try body(&self, key)
            if index == before { try skipValue() }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return true
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    /// Visits each element of an array (an unread element is skipped). A value that is not an array is skipped
    /// and `false` returned.
    @discardableResult
    mutating func array(_ body: (inout JSONPullReader) throws -> Void) throws -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else {
            try skipValue()
            return false
        }
        try enter()
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return true
        }
        while true {
            skipWhitespace()
            let before = index
            try body(&self)
            if index == before { try skipValue() }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return true
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    // MARK: Scalars (lenient: a value of another type is skipped and reads as nil)

    /// A string, or nil when the value is null or of another type.
    mutating func string() throws -> String? {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else {
            try skipValue()
            return nil
        }
        return try readString()
    }

    /// Reads a `null` and returns true, or reads nothing and returns false.
    mutating func null() throws -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A boolean, or nil when the value is null or of another type.
    mutating func bool() throws -> Bool? {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            try skipValue()
            return nil
        }
    }

    /// An integer given as a number (integral or not, truncated) or as a string of digits; nil otherwise.
    mutating func lenientInt64() throws -> Int64? {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "\""):
            return Int64(try readString())
        case UInt8(ascii: "-")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?:
            let (range, integral) = try scanNumber()
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            if integral, let value = Int64(text) { return value }
            guard let value = Double(text), value.isFinite, abs(value) < 9.2e18 else { return nil }
            return Int64(value)
        default:
            try skipValue()
            return nil
        }
    }

    /// An object whose values are all strings; nil when it is not an object or a value is not a string.
    mutating func stringDictionary() throws -> [String: String]? {
        var result: [String: String] = [:]
        var valid = true
        let isObject = try object { reader, key in
            if let value = try reader.string() {
                result[key.string] = value
            } else {
                valid = false
            }
        }
        return isObject && valid ? result : nil
    }

    /// Skips one value of any type, checking its syntax.
    mutating func skipValue() throws {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"): try object { _, _ in }
        case UInt8(ascii: "["): try array { _ in }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?: _ = try scanNumber()
        case nil: throw failure("unexpected end of the text")
        default: throw failure("unexpected '\(describeByte())'")
        }
    }

    // MARK: Lexing

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Self.maxDepth { throw failure("nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func literal(_ word: StaticString) throws {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count,
            UnsafeBufferPointer(rebasing: bytes[index..<index + expected.count]).elementsEqual(expected)
        else { throw failure("unexpected '\(describeByte())'") }
        index += expected.count
    }

    /// The range of a number's text, and whether it has neither fraction nor exponent.
    private mutating func scanNumber() throws -> (Range<Int>, Bool) {
        let start = index
        var integral = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw failure("a number needs a digit") }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let digit = peek(), isDigit(digit) else { throw failure("a fraction needs a digit") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw failure("an exponent needs a digit") }
            skipDigits()
        }
        return (start..<index, integral)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { index += 1 }
    }

    /// Finds the end of the string at `index` (on its opening quote): the index of the closing quote and whether
    /// an escape occurs. Control characters are refused.
    private func scanString() throws -> (end: Int, escaped: Bool) {
        var position = index + 1
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { return (position, escaped) }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 2
                continue
            }
            if byte < 0x20 { throw Failure(description: "control character in a string at byte \(position)") }
            position += 1
        }
        throw Failure(description: "unterminated string starting at byte \(index)")
    }

    private mutating func skipString() throws {
        let (end, escaped) = try scanString()
        if escaped {
            _ = try readString()
        } else {
            index = end + 1
        }
    }

    private mutating func readKey() throws -> Key {
        let (end, escaped) = try scanString()
        if escaped { return Key(raw: UnsafeBufferPointer(start: nil, count: 0), decoded: try readString()) }
        let raw = UnsafeBufferPointer(rebasing: bytes[index + 1..<end])
        index = end + 1
        return Key(raw: raw, decoded: nil)
    }

    private mutating func readString() throws -> String {
        let (end, escaped) = try scanString()
        if !escaped {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index + 1..<end]), as: UTF8.self)
            index = end + 1
            return text
        }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(end - index)
        var position = index + 1
        while position < end {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                position += 1
                continue
            }
            guard position + 1 < end else { throw Failure(description: "unfinished escape at byte \(position)") }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: position, end: end)
                position += 4
                if (0xD800...0xDBFF).contains(scalar), position + 6 <= end, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                {
                    let low = try hex4(at: position + 2, end: end)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        position += 6
                    }
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                utf8.append(contentsOf: String(character).utf8)
            default:
                throw Failure(description: "invalid escape '\\\(Character(Unicode.Scalar(escape)))' at byte \(position - 2)")
            }
        }
        index = end + 1
        return String(decoding: utf8, as: UTF8.self)
    }

    private func hex4(at position: Int, end: Int) throws -> UInt32 {
        guard position + 4 <= end else { throw Failure(description: "short \\u escape at byte \(position - 2)") }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Failure(description: "invalid \\u escape at byte \(position - 2)")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private func describeByte() -> String {
        guard let byte = peek() else { return "end of text" }
        return byte >= 0x20 && byte < 0x7F ? String(Character(Unicode.Scalar(byte))) : "byte 0x\(String(byte, radix: 16))"
    }

    private func failure(_ message: String) -> Failure {
        Failure(description: "\(message) at byte \(index)")
    }
}

/// A wire type read with `JSONPullReader` instead of `JSONDecoder` (list pages, read on every pass). Its
/// `Decodable` conformance reads the same answers the same way; `JSONPullReaderTests` holds the two to each other.
protocol JSONPullDecodable: Decodable {
    init(pulling reader: inout JSONPullReader) throws
}
