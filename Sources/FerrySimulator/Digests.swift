import Crypto
import Foundation

// Digests that describe stored content (never used for security): SHA-256 as the simulator reports files, and
// Cloud Storage's `md5Hash` and `crc32c`, all from swift-crypto except CRC-32C (CRC32C.swift).

/// Lowercase hex of bytes, the form every digest takes in the simulator's answers and records.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

enum Digests {
    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: some DataProtocol) -> String {
        hexString(SHA256.hash(data: bytes))
    }

    /// Lowercase hex SHA-256 of a content, read one chunk at a time; nil when it cannot be read.
    static func sha256Hex(_ content: StoredContent) -> String? {
        var hasher = SHA256()
        guard (try? ContentReader.forEachChunk(content, { hasher.update(bufferPointer: $0) })) != nil else { return nil }
        return hexString(hasher.finalize())
    }

    /// Cloud Storage's `md5Hash` and `crc32c` (both base64) of a content, read one chunk at a time, and its size.
    static func gcs(_ content: StoredContent) throws -> (md5: String, crc32c: String, size: Int64) {
        var md5 = Insecure.MD5()
        var crc = CRC32C()
        var size: Int64 = 0
        try ContentReader.forEachChunk(content) { chunk in
            md5.update(bufferPointer: chunk)
            crc.update(chunk)
            size += Int64(chunk.count)
        }
        return (Data(md5.finalize()).base64EncodedString(), crc.base64, size)
    }
}
