import NIOCore

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
        var out = ByteWriter(capacity: 256)
        write(into: &out)
        return out.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Compact UTF-8 text in a `ByteBuffer`, with `suffix` appended (a list page of 100 files is about 20 KB, of 100
    /// placements about 40 KB: reserved up front rather than grown by copying).
    func byteBuffer(suffix: StaticString = "") -> ByteBuffer {
        var out = ByteWriter(capacity: 16_384)
        write(into: &out)
        suffix.withUTF8Buffer { out.append($0) }
        return out.withBytes { ByteBuffer(bytes: $0) }
    }

    func write(into out: inout ByteWriter) {
        switch self {
        case .null: out.append("null")
        case .bool(let value): out.append(value ? "true" : "false")
        case .int(let value): Escaping.appendInteger(value, to: &out)
        case .double(let value):
            if !value.isFinite {
                out.append("null")
            } else if value == value.rounded(), abs(value) < 1e15 {
                Escaping.appendInteger(Int64(value), to: &out)
            } else {
                out.append(String(value))
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

/// Bytes appended through a pointer, for writing JSON: an `Array`'s `append` checks uniqueness and capacity and goes
/// through generic code on each of the thousands of calls a page makes (a fifth of a placement page's instructions).
struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    // JSON values, for answers written member by member (`StatusView.writePlacement`) rather than built as a
    // `JSONValue` tree first.

    /// A JSON string, or `null`.
    mutating func json(_ text: String?) {
        if let text { Escaping.appendJSONString(text, to: &self) } else { append("null" as StaticString) }
    }

    /// A JSON number, or `null`.
    mutating func json(_ number: Int64?) {
        if let number { Escaping.appendInteger(number, to: &self) } else { append("null" as StaticString) }
    }

    mutating func json(_ strings: [String]) {
        append(UInt8(ascii: "["))
        for index in strings.indices {
            if index > 0 { append(UInt8(ascii: ",")) }
            Escaping.appendJSONString(strings[index], to: &self)
        }
        append(UInt8(ascii: "]"))
    }

    mutating func json(_ value: JSONValue) { value.write(into: &self) }

    /// An object member: `key` is its literal text up to the value (`#","id":"#`, with the comma or brace before it),
    /// then the value.
    mutating func member(_ key: StaticString, _ value: String?) {
        append(key)
        json(value)
    }

    mutating func member(_ key: StaticString, _ value: Int64?) {
        append(key)
        json(value)
    }

    mutating func member(_ key: StaticString, _ value: [String]) {
        append(key)
        json(value)
    }

    mutating func member(_ key: StaticString, _ value: JSONValue) {
        append(key)
        json(value)
    }

    /// What has been written, with a newline, as a response body.
    func jsonPayload() -> Payload {
        var body = withBytes { bytes in
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + 1)
            buffer.writeBytes(bytes)
            return buffer
        }
        body.writeInteger(UInt8(ascii: "\n"))
        return Payload(status: .ok, contentType: "application/json", body: body)
    }

    /// The bytes written so far.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }
}
