import Crypto

/// SHA-256 (swift-crypto's `SHA256`) with a lowercase hex result, for identifiers and fingerprints computed in the
/// pure core: unified ids and plan fingerprints. The values are short and in memory, but many: a plan of 100,000
/// placements makes one per action and status, so bytes are fed without copies and the hex is written in one go.
public struct SHA256Digest: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    /// Feeds bytes into the hash.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        guard done == nil else { return }
        Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }

    /// Feeds a string's UTF-8 bytes into the hash.
    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    /// Finishes and returns the lowercase hex digest. The hasher itself is left as it was.
    public func hexDigest() -> String {
        hexDigest(prefix: "", bytes: Int.max)
    }

    /// `prefix` followed by the lowercase hex of the digest's first `bytes` bytes (all of them at most), made in one
    /// string. The hasher itself is left as it was.
    public func hexDigest(prefix: StaticString, bytes: Int) -> String {
        let digest = hasher.finalize()
        return digest.withUnsafeBytes { digest in
            let count = min(bytes, digest.count)
            return String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + count * 2) { out in
                let start = prefix.utf8CodeUnitCount
                prefix.withUTF8Buffer { text in _ = out.initialize(fromContentsOf: text) }
                for index in 0..<count {
                    out[start + index * 2] = Self.hexDigits[Int(digest[index] >> 4)]
                    out[start + index * 2 + 1] = Self.hexDigits[Int(digest[index] & 0xf)]
                }
                return start + count * 2
            }
        }
    }

    /// Convenience: the hex digest of one string.
    public static func hex(_ string: String) -> String {
        var hasher = SHA256Digest()
        hasher.update(string)
        return hasher.hexDigest()
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// `SHA256Digest` fed through a buffer, for streams of many short pieces (a plan's fingerprint feeds about 20 per
/// declared file): each update of swift-crypto's hasher has a fixed cost, so pieces are gathered into blocks of
/// 64 KiB first. The digest is that of the bytes in order, as if fed one by one.
public struct BufferedSHA256: Sendable {
    private var hasher = SHA256Digest()
    private var buffer: [UInt8] = []
    private static let block = 1 << 16

    public init() { buffer.reserveCapacity(Self.block + 1_024) }

    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= Self.block { flush() }
    }

    public mutating func update(byte: UInt8) {
        buffer.append(byte)
    }

    private mutating func flush() {
        hasher.update(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// The lowercase hex digest of everything fed so far.
    public func hexDigest() -> String {
        var copy = hasher
        copy.update(buffer)
        return copy.hexDigest()
    }
}
