import Foundation
import Hummingbird

/// A tiny JSON value with ordered object keys, so responses have a stable, provider-like layout
/// and explicit `null`s (Codable would drop nil optionals). Not `indirect`: arrays already hold their elements on the
/// heap, and an indirect enum would put every value, each string and number of a 10,000-file listing page, in a box
/// of its own.
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.serialized() == rhs.serialized() }

    static func int(_ value: Int) -> JSON { .int(Int64(value)) }
    static func optionalString(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }
    static func optionalInt(_ value: Int64?) -> JSON { value.map { .int($0) } ?? .null }

    func serialized() -> String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// UTF-8 bytes, written straight into a byte array (a listing page of 1,000 objects is ~1 MB of JSON).
    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value): JSON.writeInteger(value, into: &out)
        case .double(let value):
            out.append(contentsOf: (value.isFinite ? String(value) : "null").utf8)
        case .string(let value): JSON.writeString(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            var first = true
            for value in values {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in pairs {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSON.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Decimal digits, without making a string of them: written least significant first, then put in order.
    private static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let first = out.count
        var magnitude = value.magnitude
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[first...].reverse()
    }

    private static let escaper: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    private static func writeString(_ value: String, into out: inout [UInt8]) {
        var value = value
        // Most strings (ids, names, timestamps) need no escaping: no control byte, quote or backslash. Their bytes are
        // copied as they are, which keeps a 1,000-object listing page cheap; the rest go through Foundation's encoder.
        let copied = value.withUTF8 { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C { return false }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if copied { return }
        // Encoding a String cannot fail.
        out.append(contentsOf: (try? escaper.encode(value)) ?? Data("\"\"".utf8))
    }

    func byteBuffer() -> ByteBuffer {
        var out: [UInt8] = []
        write(into: &out)
        return ByteBuffer(bytes: out)
    }
}
