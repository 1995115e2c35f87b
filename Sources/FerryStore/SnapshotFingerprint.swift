import FerryCore
import GRDB

/// A 128-bit hash over everything a status snapshot stores, so a converged run whose snapshot is unchanged can tell so
/// without encoding the plan into JSON and comparing 40,000 rows (`StateStore.saveSnapshot`).
///
/// Values go through `Encodable` (every stored property, whatever is added later) into an unambiguous byte stream:
/// each string and key is length-prefixed, each value typed, each nested value closed by an end mark. It is a
/// fingerprint, not a format: nothing decodes it, and it only has to be stable within one version of Ferry (the
/// version tag below changes whenever the stream or the stored rows change shape).
struct SnapshotFingerprint {
    /// Bump when the byte stream or the rows derived from a plan change.
    static let version = "ferry-snapshot-fingerprint-2"

    private let sink = FingerprintSink()

    init() { sink.string(Self.version) }

    /// Adds an encodable value; false when it uses a container this encoder does not support (then the fingerprint
    /// must not be used).
    mutating func add<T: Encodable>(_ value: T) -> Bool {
        do {
            try sink.value(value)
        } catch {
            sink.unsupported = true
        }
        return !sink.unsupported
    }

    /// Adds one row of database values.
    mutating func add(row: [DatabaseValue]) {
        sink.byte(0x52)  // R
        sink.integer(UInt64(row.count))
        for value in row {
            switch value.storage {
            case .null: sink.byte(0)
            case .int64(let number):
                sink.byte(1)
                sink.integer(UInt64(bitPattern: number))
            case .double(let number):
                sink.byte(2)
                sink.integer(number.bitPattern)
            case .string(let text): sink.string(text)
            case .blob(let data):
                sink.byte(4)
                sink.integer(UInt64(data.count))
                sink.bytes.append(contentsOf: data)
            }
        }
    }

    /// 128 bits (two XXH64 with different seeds) of everything added, in hex, or nil when a value could not be
    /// fingerprinted. Not a cryptographic hash: it only tells a run whether its own previous snapshot is unchanged.
    func hexDigest() -> String? {
        guard !sink.unsupported else { return nil }
        let (first, second) = sink.bytes.withUnsafeBytes { (XXH64.hash($0, seed: 0), XXH64.hash($0, seed: 0x5EED_F0E5)) }
        func hex(_ value: UInt64) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
        return "xxh64x2:" + hex(first) + hex(second)
    }
}

/// XXH64 (xxHash, 64-bit), a fast non-cryptographic hash with good dispersion.
enum XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* p1 &+ p4
    }

    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = data.count
        var offset = 0
        @inline(__always) func word(_ at: Int) -> UInt64 { UInt64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2
            var v2 = seed &+ p2
            var v3 = seed
            var v4 = seed &- p1
            while offset + 32 <= count {
                v1 = round(v1, word(offset))
                v2 = round(v2, word(offset + 8))
                v3 = round(v3, word(offset + 16))
                v4 = round(v4, word(offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(merge(merge(merge(h, v1), v2), v3), v4)
        } else {
            h = seed &+ p5
        }
        h &+= UInt64(count)
        while offset + 8 <= count {
            h ^= round(0, word(offset))
            h = rotl(h, 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= count {
            let four = UInt64(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            h ^= four &* p1
            h = rotl(h, 23) &* p2 &+ p3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(data[offset]) &* p5
            h = rotl(h, 11) &* p1
            offset += 1
        }
        h ^= h >> 33
        h &*= p2
        h ^= h >> 29
        h &*= p3
        h ^= h >> 32
        return h
    }
}

/// The byte stream, shared by the encoder and its containers.
private final class FingerprintSink {
    var bytes: [UInt8] = []
    /// Set when a nested container or super encoder was asked for (not needed by synthesized conformances).
    var unsupported = false

    init() { bytes.reserveCapacity(1 << 20) }

    func byte(_ value: UInt8) { bytes.append(value) }

    func integer(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func string(_ text: String) {
        byte(3)
        var text = text
        text.withUTF8 { utf8 in
            integer(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A nested value: an open mark, what it encodes, a close mark.
    func value<T: Encodable>(_ value: T) throws {
        byte(0x28)  // (
        if let dictionary = value as? [String: any Encodable] {
            // A dictionary encodes in its (per-process random) iteration order: fingerprint it in key order instead.
            byte(0x7B)  // {
            for key in dictionary.keys.sorted() {
                string(key)
                try self.value(dictionary[key]!)
            }
        } else {
            try value.encode(to: FingerprintEncoder(sink: self))
        }
        byte(0x29)  // )
    }
}

private struct FingerprintEncoder: Encoder {
    let sink: FingerprintSink
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        sink.byte(0x7B)  // {
        return KeyedEncodingContainer(KeyedContainer<Key>(sink: sink))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        sink.byte(0x5B)  // [
        return UnkeyedContainer(sink: sink)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(sink: sink)
    }
}

/// Primitive writers shared by the three container kinds.
private protocol FingerprintWriting {
    var sink: FingerprintSink { get }
}

extension FingerprintWriting {
    func writeNil() { sink.byte(0) }
    func write(_ value: Bool) {
        sink.byte(5)
        sink.byte(value ? 1 : 0)
    }
    func write(_ value: String) { sink.string(value) }
    func write(_ value: Double) {
        sink.byte(2)
        sink.integer(value.bitPattern)
    }
    func write(_ value: Float) { write(Double(value)) }
    func write<I: BinaryInteger>(signed value: I) {
        sink.byte(1)
        sink.integer(UInt64(bitPattern: Int64(value)))
    }
    func write<I: BinaryInteger>(unsigned value: I) {
        sink.byte(6)
        sink.integer(UInt64(value))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol, FingerprintWriting {
    let sink: FingerprintSink
    var codingPath: [any CodingKey] { [] }

    private func key(_ key: Key) { sink.string(key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { self.key(key); writeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); write(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); write(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); write(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); write(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); write(signed: value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); write(signed: value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); write(signed: value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); write(signed: value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); write(signed: value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); write(unsigned: value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); write(unsigned: value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); write(unsigned: value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); write(unsigned: value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); write(unsigned: value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        self.key(key)
        try sink.value(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        sink.unsupported = true
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(sink: sink))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        sink.unsupported = true
        return UnkeyedContainer(sink: sink)
    }

    mutating func superEncoder() -> any Encoder {
        sink.unsupported = true
        return FingerprintEncoder(sink: sink)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        sink.unsupported = true
        return FingerprintEncoder(sink: sink)
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer, FingerprintWriting {
    let sink: FingerprintSink
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(sink: FingerprintSink) { self.sink = sink }

    mutating func encodeNil() throws { count += 1; writeNil() }
    mutating func encode(_ value: Bool) throws { count += 1; write(value) }
    mutating func encode(_ value: String) throws { count += 1; write(value) }
    mutating func encode(_ value: Double) throws { count += 1; write(value) }
    mutating func encode(_ value: Float) throws { count += 1; write(value) }
    mutating func encode(_ value: Int) throws { count += 1; write(signed: value) }
    mutating func encode(_ value: Int8) throws { count += 1; write(signed: value) }
    mutating func encode(_ value: Int16) throws { count += 1; write(signed: value) }
    mutating func encode(_ value: Int32) throws { count += 1; write(signed: value) }
    mutating func encode(_ value: Int64) throws { count += 1; write(signed: value) }
    mutating func encode(_ value: UInt) throws { count += 1; write(unsigned: value) }
    mutating func encode(_ value: UInt8) throws { count += 1; write(unsigned: value) }
    mutating func encode(_ value: UInt16) throws { count += 1; write(unsigned: value) }
    mutating func encode(_ value: UInt32) throws { count += 1; write(unsigned: value) }
    mutating func encode(_ value: UInt64) throws { count += 1; write(unsigned: value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        count += 1
        try sink.value(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        sink.unsupported = true
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(sink: sink))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        sink.unsupported = true
        return UnkeyedContainer(sink: sink)
    }

    mutating func superEncoder() -> any Encoder {
        sink.unsupported = true
        return FingerprintEncoder(sink: sink)
    }
}

private struct SingleContainer: SingleValueEncodingContainer, FingerprintWriting {
    let sink: FingerprintSink
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writeNil() }
    mutating func encode(_ value: Bool) throws { write(value) }
    mutating func encode(_ value: String) throws { write(value) }
    mutating func encode(_ value: Double) throws { write(value) }
    mutating func encode(_ value: Float) throws { write(value) }
    mutating func encode(_ value: Int) throws { write(signed: value) }
    mutating func encode(_ value: Int8) throws { write(signed: value) }
    mutating func encode(_ value: Int16) throws { write(signed: value) }
    mutating func encode(_ value: Int32) throws { write(signed: value) }
    mutating func encode(_ value: Int64) throws { write(signed: value) }
    mutating func encode(_ value: UInt) throws { write(unsigned: value) }
    mutating func encode(_ value: UInt8) throws { write(unsigned: value) }
    mutating func encode(_ value: UInt16) throws { write(unsigned: value) }
    mutating func encode(_ value: UInt32) throws { write(unsigned: value) }
    mutating func encode(_ value: UInt64) throws { write(unsigned: value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try sink.value(value) }
}
