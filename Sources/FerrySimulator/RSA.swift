import Foundation

// RS256 signature verification (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2.2) for the token endpoint.
// The simulator may depend on Hummingbird and swift-log only, so it cannot use swift-crypto; verifying needs
// just the public operation (s^e mod n) and a byte comparison. It only checks test clients' JWTs and is
// never used to protect anything.

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
struct RSAPublicKey: Sendable, Equatable {
    let modulus: [UInt8]
    let exponent: [UInt8]

    enum KeyError: Error, CustomStringConvertible {
        case notPEM
        case unsupported(String)
        case malformed(String)

        var description: String {
            switch self {
            case .notPEM: return "not a PEM block"
            case .unsupported(let what): return "unsupported PEM type: \(what)"
            case .malformed(let why): return "malformed key: \(why)"
            }
        }
    }

    init(modulus: [UInt8], exponent: [UInt8]) {
        self.modulus = Array(modulus.drop { $0 == 0 })
        self.exponent = Array(exponent.drop { $0 == 0 })
    }

    /// Reads the public half of a PEM: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS #1), `CERTIFICATE` (X.509,
    /// as Google publishes service-account keys), `PRIVATE KEY` (PKCS #8, the `private_key` of a key file) or
    /// `RSA PRIVATE KEY` (PKCS #1).
    init(pem: String) throws {
        let (label, der) = try PEM.decode(pem)
        switch label {
        case "PUBLIC KEY":
            self = try RSAPublicKey.fromSPKI(DER.parse(der))
        case "RSA PUBLIC KEY":
            let items = try DER.sequence(der)
            guard items.count >= 2 else { throw KeyError.malformed("RSAPublicKey needs two integers") }
            self.init(modulus: try DER.integer(items[0]), exponent: try DER.integer(items[1]))
        case "CERTIFICATE":
            let certificate = try DER.sequence(der)
            guard let tbs = certificate.first else { throw KeyError.malformed("empty certificate") }
            var fields = try DER.sequence(tbs)
            if fields.first?.tag == 0xA0 { fields.removeFirst() }  // [0] version
            guard fields.count >= 6 else { throw KeyError.malformed("certificate without subjectPublicKeyInfo") }
            self = try RSAPublicKey.fromSPKI(fields[5])
        case "PRIVATE KEY":
            let items = try DER.sequence(der)
            guard items.count >= 3, items[2].tag == 0x04 else { throw KeyError.malformed("PKCS #8 without a key") }
            self = try RSAPublicKey.fromPKCS1Private(items[2].content)
        case "RSA PRIVATE KEY":
            self = try RSAPublicKey.fromPKCS1Private(der)
        default:
            throw KeyError.unsupported(label)
        }
    }

    private static func fromSPKI(_ element: DER.Element) throws -> RSAPublicKey {
        let items = try DER.sequence(element)
        guard items.count == 2, items[1].tag == 0x03, let unused = items[1].content.first, unused == 0 else {
            throw KeyError.malformed("subjectPublicKeyInfo without a bit string")
        }
        let rsa = try DER.sequence(DER.parse(Array(items[1].content.dropFirst())))
        guard rsa.count >= 2 else { throw KeyError.malformed("RSAPublicKey needs two integers") }
        return RSAPublicKey(modulus: try DER.integer(rsa[0]), exponent: try DER.integer(rsa[1]))
    }

    private static func fromPKCS1Private(_ der: [UInt8]) throws -> RSAPublicKey {
        let items = try DER.sequence(DER.parse(der))
        guard items.count >= 3 else { throw KeyError.malformed("RSAPrivateKey too short") }
        return RSAPublicKey(modulus: try DER.integer(items[1]), exponent: try DER.integer(items[2]))
    }

    private static let sha256DigestInfo: [UInt8] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ]

    /// The PKCS #1 v1.5 encoding of a SHA-256 digest for a modulus of `length` bytes (EMSA-PKCS1-v1_5).
    static func encodedMessage(sha256 digest: [UInt8], length: Int) -> [UInt8]? {
        let t = sha256DigestInfo + digest
        guard length >= t.count + 11 else { return nil }
        return [0x00, 0x01] + [UInt8](repeating: 0xff, count: length - t.count - 3) + [0x00] + t
    }

    /// True when `signature` is a valid RS256 signature of `message` under this key.
    func verifyRS256(signature: [UInt8], message: [UInt8]) -> Bool {
        let length = modulus.count
        guard length >= 64, signature.count == length, modulus.last.map({ $0 & 1 == 1 }) == true else { return false }
        let n = BigUInt(bigEndian: modulus)
        let s = BigUInt(bigEndian: signature)
        guard s < n else { return false }
        let m = s.power(BigUInt(bigEndian: exponent), modulus: n)
        var hasher = SHA256Hasher()
        hasher.update(message)
        let digest = hexBytes(hasher.finalizeHex())
        guard let expected = RSAPublicKey.encodedMessage(sha256: digest, length: length) else { return false }
        return m.bigEndianBytes(length: length) == expected
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).map { index in
        UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) ?? 0
    }
}

enum PEM {
    /// The label and DER bytes of the first PEM block.
    static func decode(_ text: String) throws -> (label: String, der: [UInt8]) {
        let lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) else {
            throw RSAPublicKey.KeyError.notPEM
        }
        let label = String(lines[begin].dropFirst(11).dropLast(5))
        guard let end = lines[begin...].firstIndex(where: { $0 == "-----END \(label)-----" }) else {
            throw RSAPublicKey.KeyError.notPEM
        }
        let body = lines[(begin + 1)..<end].filter { !$0.contains(":") }.joined()
        guard let data = Data(base64Encoded: body) else { throw RSAPublicKey.KeyError.malformed("bad base64") }
        return (label, Array(data))
    }
}

/// Just enough DER to read RSA keys.
enum DER {
    struct Element {
        let tag: UInt8
        let content: [UInt8]
    }

    static func parse(_ bytes: [UInt8]) throws -> Element {
        var index = 0
        let element = try read(bytes, &index)
        return element
    }

    static func read(_ bytes: [UInt8], _ index: inout Int) throws -> Element {
        guard index + 2 <= bytes.count else { throw RSAPublicKey.KeyError.malformed("truncated DER") }
        let tag = bytes[index]
        var length = Int(bytes[index + 1])
        index += 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 4, index + count <= bytes.count else {
                throw RSAPublicKey.KeyError.malformed("bad DER length")
            }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard length >= 0, index + length <= bytes.count else { throw RSAPublicKey.KeyError.malformed("truncated DER") }
        let content = Array(bytes[index..<index + length])
        index += length
        return Element(tag: tag, content: content)
    }

    static func sequence(_ bytes: [UInt8]) throws -> [Element] {
        try sequence(parse(bytes))
    }

    static func sequence(_ element: Element) throws -> [Element] {
        guard element.tag == 0x30 else { throw RSAPublicKey.KeyError.malformed("expected a SEQUENCE") }
        var items: [Element] = []
        var index = 0
        while index < element.content.count { items.append(try read(element.content, &index)) }
        return items
    }

    static func integer(_ element: Element) throws -> [UInt8] {
        guard element.tag == 0x02 else { throw RSAPublicKey.KeyError.malformed("expected an INTEGER") }
        return element.content
    }
}

/// A non-negative integer with 32-bit limbs (least significant first), with Montgomery modular powers.
struct BigUInt: Comparable, Sendable {
    private(set) var limbs: [UInt32]

    init(limbs: [UInt32]) {
        var trimmed = limbs
        while trimmed.last == 0 { trimmed.removeLast() }
        self.limbs = trimmed
    }

    init(bigEndian bytes: [UInt8]) {
        var limbs: [UInt32] = []
        var index = bytes.count
        while index > 0 {
            let start = max(0, index - 4)
            var limb: UInt32 = 0
            for byte in bytes[start..<index] { limb = limb << 8 | UInt32(byte) }
            limbs.append(limb)
            index = start
        }
        self.init(limbs: limbs)
    }

    func bigEndianBytes(length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        for (i, limb) in limbs.enumerated() {
            for b in 0..<4 {
                let position = length - 1 - (i * 4 + b)
                if position >= 0 { out[position] = UInt8((limb >> (8 * UInt32(b))) & 0xff) }
            }
        }
        return out
    }

    var bitWidth: Int {
        guard let top = limbs.last else { return 0 }
        return (limbs.count - 1) * 32 + (32 - top.leadingZeroBitCount)
    }

    func bit(_ index: Int) -> Bool {
        let limb = index / 32
        return limb < limbs.count && (limbs[limb] >> UInt32(index % 32)) & 1 == 1
    }

    static func < (lhs: BigUInt, rhs: BigUInt) -> Bool {
        if lhs.limbs.count != rhs.limbs.count { return lhs.limbs.count < rhs.limbs.count }
        for i in stride(from: lhs.limbs.count - 1, through: 0, by: -1) where lhs.limbs[i] != rhs.limbs[i] {
            return lhs.limbs[i] < rhs.limbs[i]
        }
        return false
    }

    /// `self^exponent mod modulus`; `modulus` must be odd and `self < modulus`.
    func power(_ exponent: BigUInt, modulus: BigUInt) -> BigUInt {
        let context = Montgomery(modulus: modulus)
        var result = context.one
        let base = context.enter(self)
        for i in stride(from: exponent.bitWidth - 1, through: 0, by: -1) {
            result = context.multiply(result, result)
            if exponent.bit(i) { result = context.multiply(result, base) }
        }
        return context.leave(result)
    }
}

/// Montgomery arithmetic modulo an odd number (limbs of 32 bits, R = 2^(32·count)).
private struct Montgomery {
    let n: [UInt32]
    let count: Int
    let inverse: UInt32  // -n⁻¹ mod 2^32
    let rSquared: [UInt32]

    init(modulus: BigUInt) {
        n = modulus.limbs
        count = n.count
        // Newton iteration for n[0]⁻¹ mod 2^32 (n[0] is odd).
        var x: UInt32 = 1
        for _ in 0..<5 { x = x &* (2 &- n[0] &* x) }
        inverse = 0 &- x
        // R² mod n by doubling 1, 2·32·count times.
        var r = [UInt32](repeating: 0, count: count)
        r[0] = 1
        for _ in 0..<(64 * count) {
            var carry: UInt32 = 0
            for i in 0..<count {
                let next = r[i] >> 31
                r[i] = r[i] << 1 | carry
                carry = next
            }
            if carry == 1 || !Montgomery.less(r, n) { Montgomery.subtract(&r, n) }
        }
        rSquared = r
    }

    var one: [UInt32] { enter(BigUInt(limbs: [1])) }

    func enter(_ value: BigUInt) -> [UInt32] {
        var padded = value.limbs
        padded += [UInt32](repeating: 0, count: count - padded.count)
        return multiply(padded, rSquared)
    }

    func leave(_ value: [UInt32]) -> BigUInt {
        var one = [UInt32](repeating: 0, count: count)
        one[0] = 1
        return BigUInt(limbs: multiply(value, one))
    }

    /// a·b·R⁻¹ mod n (CIOS).
    func multiply(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        let count = self.count
        let inverse = self.inverse
        var result = [UInt32](repeating: 0, count: count)
        var overflow: UInt32 = 0
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count + 2) { buffer in
            let t = buffer.baseAddress!
            t.initialize(repeating: 0, count: count + 2)
            a.withUnsafeBufferPointer { aBuffer in
                b.withUnsafeBufferPointer { bBuffer in
                    n.withUnsafeBufferPointer { nBuffer in
                        let a = aBuffer.baseAddress!
                        let b = bBuffer.baseAddress!
                        let n = nBuffer.baseAddress!
                        for i in 0..<count {
                            var carry: UInt64 = 0
                            let bi = UInt64(b[i])
                            for j in 0..<count {
                                let x = UInt64(t[j]) &+ UInt64(a[j]) &* bi &+ carry
                                t[j] = UInt32(truncatingIfNeeded: x)
                                carry = x >> 32
                            }
                            var x = UInt64(t[count]) &+ carry
                            t[count] = UInt32(truncatingIfNeeded: x)
                            t[count + 1] = UInt32(x >> 32)
                            let m = UInt64(t[0] &* inverse)
                            x = UInt64(t[0]) &+ m &* UInt64(n[0])
                            carry = x >> 32
                            for j in 1..<count {
                                x = UInt64(t[j]) &+ m &* UInt64(n[j]) &+ carry
                                t[j - 1] = UInt32(truncatingIfNeeded: x)
                                carry = x >> 32
                            }
                            x = UInt64(t[count]) &+ carry
                            t[count - 1] = UInt32(truncatingIfNeeded: x)
                            t[count] = t[count + 1] &+ UInt32(x >> 32)
                            t[count + 1] = 0
                        }
                    }
                }
            }
            for i in 0..<count { result[i] = t[i] }
            overflow = t[count]
        }
        if overflow != 0 || !Montgomery.less(result, n) { Montgomery.subtract(&result, n) }
        return result
    }

    static func less(_ a: [UInt32], _ b: [UInt32]) -> Bool {
        for i in stride(from: a.count - 1, through: 0, by: -1) where a[i] != b[i] { return a[i] < b[i] }
        return false
    }

    /// a -= b (wrapping; callers ensure a ≥ b, counting an overflow limb).
    static func subtract(_ a: inout [UInt32], _ b: [UInt32]) {
        var borrow: UInt64 = 0
        for i in 0..<a.count {
            let x = UInt64(a[i]) &- UInt64(b[i]) &- borrow
            a[i] = UInt32(truncatingIfNeeded: x)
            borrow = (x >> 63) & 1
        }
    }
}
