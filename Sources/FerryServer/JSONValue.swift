/// A JSON value with ordered object keys, so answers have a stable, documented layout and explicit `null`s
/// (Codable would drop nil optionals).
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func int(_ value: Int) -> JSONValue { .int(Int64(value)) }
    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    static func int(_ value: Int64?) -> JSONValue { value.map { .int($0) } ?? .null }
    static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
    static func double(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// Compact UTF-8 text.
    func serialized() -> String {
        String(decoding: bytes(), as: UTF8.self)
    }

    /// Compact UTF-8 text as bytes, with `suffix` appended (a list page of 100 files is about 20 KB, of 100
    /// placements about 40 KB: reserved up front rather than grown by copying).
    func bytes(suffix: StaticString = "") -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16_384)
        write(into: &out)
        suffix.withUTF8Buffer { out.append(contentsOf: $0) }
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value): Escaping.appendInteger(value, to: &out)
        case .double(let value):
            if !value.isFinite {
                out.append(contentsOf: "null".utf8)
            } else if value == value.rounded(), abs(value) < 1e15 {
                Escaping.appendInteger(Int64(value), to: &out)
            } else {
                out.append(contentsOf: String(value).utf8)
            }
        case .string(let value): Escaping.appendJSONString(value, to: &out)
        case .array(let values):
            // By index, not `enumerated()`: each element is written where it is, not copied out first.
            out.append(UInt8(ascii: "["))
            for index in values.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                values[index].write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for index in pairs.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Escaping.appendJSONString(pairs[index].0, to: &out)
                out.append(UInt8(ascii: ":"))
                pairs[index].1.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
