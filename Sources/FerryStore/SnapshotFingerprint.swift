import FerryCore
import GRDB

/// A SHA-256 over everything a status snapshot stores, so a converged run whose snapshot is unchanged can tell so
/// without encoding the plan into JSON and comparing 40,000 rows (`SQLiteStateStore.saveSnapshot`).
///
/// Values go through `Encodable` (every stored property, whatever is added later) into an unambiguous byte stream:
/// each string and key is length-prefixed, each value typed, each nested value closed by an end mark. It is a
/// fingerprint, not a format: nothing decodes it, and it only has to be stable within one version of Ferry (the
/// version tag below changes whenever the stream or the stored rows change shape).
struct SnapshotFingerprint {
    /// Bump when the byte stream or the rows derived from a plan change.
    static let version = "ferry-snapshot-fingerprint-5"

    private let sink = FingerprintSink()
    /// Rows, placements and listings are written here field by field, and handed to `sink` a block at a time (and
    /// before anything is written to `sink` itself, so the stream keeps its order).
    private var pending = FieldWriter(capacity: FingerprintSink.block + 4_096)

    init() { sink.string(Self.version) }

    /// Adds an encodable value; false when it uses a container this encoder does not support (then the fingerprint
    /// must not be used).
    mutating func add<T: Encodable>(_ value: T) -> Bool {
        sink.absorb(&pending.bytes)
        do {
            try sink.value(value)
        } catch {
            sink.unsupported = true
        }
        return !sink.unsupported
    }

    /// Adds a plan: its placements field by field (a converged plan of 100,000 placements is almost nothing else,
    /// and going through `Encodable` for each costs ten times more), everything else through `Encodable`. False
    /// when a value could not be fingerprinted.
    mutating func add(plan: Plan) -> Bool {
        var rest = plan
        rest.placements = []
        guard add(rest) else { return false }
        add(placements: plan.placements)
        return true
    }

    /// The names of `PlacementStatus`'s stored properties, in the order `add(placements:)` writes them. A test
    /// compares them with the type's own (by reflection), so a field added later cannot be left out of the
    /// fingerprint.
    static let placementFields = [
        "file", "unifiedID", "endpointID", "models", "state", "remoteID", "pendingAction", "detail",
    ]

    /// Adds placements, every stored property of each (`placementFields`).
    mutating func add(placements: [PlacementStatus]) {
        add(records: placements, tag: 0x50) { out, status in  // P
            out.string(status.pointee.file)
            out.string(status.pointee.unifiedID)
            out.string(status.pointee.endpointID)
            out.integer(Int64(status.pointee.models.count))
            for model in status.pointee.models { out.string(model) }
            out.string(status.pointee.state.rawValue)
            out.string(status.pointee.remoteID)
            out.string(status.pointee.pendingAction?.rawValue)
            out.string(status.pointee.detail)
        }
    }

    /// Adds a listing: every field `observed_files` stores of each file, in order.
    mutating func add(listing files: [RemoteFile]) {
        add(records: files, tag: 0x4C) { out, file in  // L
            out.string(file.pointee.id)
            out.string(file.pointee.filename)
            out.integer(file.pointee.bytes)
            out.string(file.pointee.purpose)
            out.integer(file.pointee.createdAt)
            out.string(file.pointee.status.rawValue)
            out.string(file.pointee.statusDetails)
            out.integer(file.pointee.expiresAt)
        }
    }

    /// Adds a list of records: `tag`, the count, then each record's fields after an open mark, written by `fields`.
    /// Records are read in place, through a pointer: a copy of each (retaining and releasing its strings) cost a
    /// quarter of the time.
    private mutating func add<Record>(
        records: [Record], tag: UInt8, fields: (inout FieldWriter, UnsafePointer<Record>) -> Void
    ) {
        pending.bytes.append(tag)
        pending.integer(Int64(records.count))
        records.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for index in records.indices {
                pending.bytes.append(0x7B)  // {
                fields(&pending, base + index)
                if pending.bytes.count >= FingerprintSink.block { sink.absorb(&pending.bytes) }
            }
        }
    }

    /// Fields written straight into a local buffer (no class access per byte), in the sink's format: a string is
    /// tagged and length-prefixed, an absent value is a 0 byte.
    private struct FieldWriter {
        var bytes: [UInt8] = []

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func integer(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func integer(_ value: Int64?) {
            guard let value else { return bytes.append(0) }
            bytes.append(1)
            integer(value)
        }

        mutating func string(_ text: String?) {
            guard let text else { return bytes.append(0) }
            string(text)
        }

        mutating func string(_ text: String) {
            bytes.append(3)
            // A native string's bytes are read where they are; others (bridged) are made contiguous first.
            let written: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
                integer(Int64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
            guard written == nil else { return }
            var copy = text
            copy.withUTF8 { utf8 in
                integer(Int64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        /// A database value: a type byte (0 for NULL), then the value (a string length-prefixed).
        mutating func value(_ value: DatabaseValue) {
            switch value.storage {
            case .null: bytes.append(0)
            case .int64(let number):
                bytes.append(1)
                integer(number)
            case .double(let number):
                bytes.append(2)
                integer(Int64(bitPattern: number.bitPattern))
            case .string(let text): string(text)
            case .blob(let data):
                bytes.append(4)
                integer(Int64(data.count))
                bytes.append(contentsOf: data)
            }
        }
    }

    /// The `desired_files` row of a declared file, up to its placement counts: what both stores fingerprint, and
    /// SQLite stores. `models` and `labels` are the JSON of `targetModels` and `labels`.
    static func desiredRow(_ file: DesiredFile, digest: String, models: String, labels: String) -> [DatabaseValue] {
        [
            file.name.databaseValue, file.unifiedID.databaseValue, file.sourcePath.databaseValue,
            file.bytes.databaseValue, digest.databaseValue, file.purpose.databaseValue, file.filename.databaseValue,
            models.databaseValue, labels.databaseValue, file.deletionPolicy.rawValue.databaseValue,
            file.declaredBy.databaseValue,
        ]
    }

    /// Adds one row of database values.
    mutating func add(row: [DatabaseValue]) {
        pending.bytes.append(0x52)  // R
        pending.integer(Int64(row.count))
        for value in row { pending.value(value) }
        if pending.bytes.count >= FingerprintSink.block { sink.absorb(&pending.bytes) }
    }

    /// SHA-256 of everything added, in hex, or nil when a value could not be fingerprinted. It only tells a run
    /// whether its own previous snapshot is unchanged.
    func hexDigest() -> String? {
        guard !sink.unsupported else { return nil }
        var hasher = sink.hasher  // swift-crypto's SHA256, with FerryCore's hex; a copy, so this can be asked again
        hasher.update(sink.bytes)
        hasher.update(pending.bytes)
        return "sha256:" + hasher.hexDigest()
    }
}

/// The byte stream, shared by the encoder and its containers.
private final class FingerprintSink {
    /// Bytes not hashed yet: handed to `hasher` in blocks of `block`, so the stream is never held whole (a snapshot
    /// of 300,000 placements is over 100 MB of it).
    var bytes: [UInt8] = []
    private(set) var hasher = SHA256Digest()
    static let block = 1 << 16
    /// Set when a nested container or super encoder was asked for (not needed by synthesized conformances).
    var unsupported = false

    init() { bytes.reserveCapacity(Self.block + 4_096) }

    func byte(_ value: UInt8) { bytes.append(value) }

    /// Hashes what is buffered, then `more` (emptied, its capacity kept), without copying `more` into the buffer.
    func absorb(_ more: inout [UInt8]) {
        if !bytes.isEmpty {
            hasher.update(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        hasher.update(more)
        more.removeAll(keepingCapacity: true)
    }

    /// Hashes what is buffered once it is a block or more.
    func flush() {
        guard bytes.count >= Self.block else { return }
        hasher.update(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

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
        flush()
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
