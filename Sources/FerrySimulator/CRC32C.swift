import Foundation

// No dependency of the simulator offers CRC-32C (swift-crypto has none), so this is the one checksum written here.

/// CRC-32C (Castagnoli), as Cloud Storage reports it in `crc32c`.
struct CRC32C: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    private var crc: UInt32 = 0xFFFF_FFFF

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        var value = crc
        CRC32C.table.withUnsafeBufferPointer { table in
            for byte in raw { value = table[Int((value ^ UInt32(byte)) & 0xff)] ^ (value >> 8) }
        }
        crc = value
    }

    var value: UInt32 { crc ^ 0xFFFF_FFFF }

    /// Base64 of the four big-endian bytes.
    var base64: String {
        let v = value
        return Data([UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
            .base64EncodedString()
    }
}
