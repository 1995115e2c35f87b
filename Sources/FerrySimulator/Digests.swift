import Foundation

// Small incremental SHA-256 and MD5 implementations. The simulator may depend on Hummingbird and
// swift-log only, so it cannot use swift-crypto; both algorithms are short and fully specified
// (FIPS 180-4, RFC 1321). They are only used to describe stored content, never for security.

private let sha256K: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
]

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
@inline(__always) private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Incremental SHA-256.
struct SHA256Hasher: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    private var length: UInt64 = 0

    init() {}

    mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        length &+= UInt64(raw.count)
        var offset = 0
        if buffered > 0 {
            let take = min(64 - buffered, raw.count)
            for i in 0..<take { buffer[buffered + i] = raw[i] }
            buffered += take
            offset = take
            if buffered < 64 { return }
            let block = buffer
            block.withUnsafeBytes { compress($0.baseAddress!) }
            buffered = 0
        }
        while raw.count - offset >= 64 {
            compress(raw.baseAddress! + offset)
            offset += 64
        }
        let rest = raw.count - offset
        for i in 0..<rest { buffer[i] = raw[offset + i] }
        buffered = rest
    }

    private mutating func compress(_ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            let w = w.baseAddress!
            let bytes = block.assumingMemoryBound(to: UInt8.self)
            for i in 0..<16 {
                let b = bytes + i * 4
                w[i] = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            }
            for i in 16..<64 {
                let x = w[i - 15]
                let y = w[i - 2]
                let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
                let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = state
            sha256K.withUnsafeBufferPointer { k in
                let k = k.baseAddress!
                for i in 0..<64 {
                    let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
                    let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    h = g
                    g = f
                    f = e
                    e = d &+ t1
                    d = c
                    c = b
                    b = a
                    a = t1 &+ t2
                }
            }
            state = (
                state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h
            )
        }
    }

    /// Finishes the digest and returns it as lowercase hex.
    func finalizeHex() -> String {
        var copy = self
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let padZeros = (55 - Int(length % 64) + 64) % 64
        padding += [UInt8](repeating: 0, count: padZeros)
        for i in (0..<8).reversed() { padding.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let savedLength = copy.length
        padding.withUnsafeBytes { copy.update($0) }
        copy.length = savedLength
        let words = [copy.state.0, copy.state.1, copy.state.2, copy.state.3, copy.state.4, copy.state.5, copy.state.6, copy.state.7]
        var out = [UInt8]()
        for word in words {
            out += [UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff)]
        }
        return hexString(out)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }
}

private let md5S: [UInt32] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]

private let md5K: [UInt32] = (0..<64).map { i in
    UInt32(truncatingIfNeeded: Int64(abs(sin(Double(i + 1))) * 4_294_967_296.0))
}

/// Incremental MD5 (used only to check the optional `md5` of an upload's completion).
struct MD5Hasher: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    private var length: UInt64 = 0

    init() {}

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        length &+= UInt64(raw.count)
        var offset = 0
        if buffered > 0 {
            let take = min(64 - buffered, raw.count)
            for i in 0..<take { buffer[buffered + i] = raw[i] }
            buffered += take
            offset = take
            if buffered < 64 { return }
            let block = buffer
            block.withUnsafeBytes { compress($0.baseAddress!) }
            buffered = 0
        }
        while raw.count - offset >= 64 {
            compress(raw.baseAddress! + offset)
            offset += 64
        }
        let rest = raw.count - offset
        for i in 0..<rest { buffer[i] = raw[offset + i] }
        buffered = rest
    }

    private mutating func compress(_ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { words in
            let m = words.baseAddress!
            for i in 0..<16 {
                let b = block + i * 4
                m[i] = UInt32(b.load(fromByteOffset: 0, as: UInt8.self))
                    | UInt32(b.load(fromByteOffset: 1, as: UInt8.self)) << 8
                    | UInt32(b.load(fromByteOffset: 2, as: UInt8.self)) << 16
                    | UInt32(b.load(fromByteOffset: 3, as: UInt8.self)) << 24
            }
            var (a, b, c, d) = state
            md5K.withUnsafeBufferPointer { constants in
                md5S.withUnsafeBufferPointer { shifts in
                    let k = constants.baseAddress!
                    let s = shifts.baseAddress!
                    for i in 0..<64 {
                        var f: UInt32
                        let g: Int
                        switch i {
                        case 0..<16:
                            f = (b & c) | (~b & d)
                            g = i
                        case 16..<32:
                            f = (d & b) | (~d & c)
                            g = (5 * i + 1) % 16
                        case 32..<48:
                            f = b ^ c ^ d
                            g = (3 * i + 5) % 16
                        default:
                            f = c ^ (b | ~d)
                            g = (7 * i) % 16
                        }
                        f = f &+ a &+ k[i] &+ m[g]
                        a = d
                        d = c
                        c = b
                        b = b &+ rotl(f, s[i])
                    }
                }
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
        }
    }

    func finalizeHex() -> String {
        var copy = self
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let padZeros = (55 - Int(length % 64) + 64) % 64
        padding += [UInt8](repeating: 0, count: padZeros)
        for i in 0..<8 { padding.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        padding.withUnsafeBytes { copy.update($0) }
        var out = [UInt8]()
        for word in [copy.state.0, copy.state.1, copy.state.2, copy.state.3] {
            out += [UInt8(word & 0xff), UInt8((word >> 8) & 0xff), UInt8((word >> 16) & 0xff), UInt8(word >> 24)]
        }
        return hexString(out)
    }
}
