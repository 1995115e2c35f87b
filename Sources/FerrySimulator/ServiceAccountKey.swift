import Crypto
import Foundation
import _CryptoExtras

/// The public half of a service account's RSA key, read from any PEM Google hands out, to verify the RS256
/// signatures of the JWTs the token endpoint receives (RSASSA-PKCS1-v1_5 over SHA-256, via swift-crypto).
struct ServiceAccountPublicKey: Sendable {
    struct NotAnRSAKey: Error, CustomStringConvertible {
        let description: String
    }

    let key: _RSA.Signing.PublicKey

    /// Reads `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS #1), `PRIVATE KEY` (PKCS #8, the `private_key` of a key
    /// file), `RSA PRIVATE KEY` (PKCS #1) or an X.509 `CERTIFICATE` (as Google publishes service-account keys).
    init(pem: String) throws {
        do {
            if pem.contains("-----BEGIN CERTIFICATE-----") {
                key = try _RSA.Signing.PublicKey(derRepresentation: try Self.subjectPublicKeyInfo(certificatePEM: pem))
            } else if pem.contains("PRIVATE KEY-----") {
                key = try _RSA.Signing.PrivateKey(pemRepresentation: pem).publicKey
            } else {
                key = try _RSA.Signing.PublicKey(pemRepresentation: pem)
            }
        } catch let error as NotAnRSAKey {
            throw error
        } catch {
            throw NotAnRSAKey(description: "not a PEM RSA key (of at least 2048 bits): \(error)")
        }
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    func verifiesRS256(signature: [UInt8], message: [UInt8]) -> Bool {
        key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message),
            padding: .insecurePKCS1v1_5)
    }

    /// The DER `subjectPublicKeyInfo` of a PEM X.509 certificate: the field after `subject` in `tbsCertificate`.
    /// Only walks DER lengths (swift-crypto reads keys, not certificates); the key itself is parsed by swift-crypto.
    static func subjectPublicKeyInfo(certificatePEM pem: String) throws -> [UInt8] {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body).map(Array.init) else {
            throw NotAnRSAKey(description: "the certificate is not valid base64")
        }
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
        // issuer, validity, subject, subjectPublicKeyInfo, … }, … }
        var index = 0
        let certificate = try element(der, &index)
        index = certificate.content.lowerBound
        let tbs = try element(der, &index)
        index = tbs.content.lowerBound
        var fields: [(tag: UInt8, whole: Range<Int>)] = []
        while index < tbs.content.upperBound, fields.count < 8 {
            let field = try element(der, &index)
            fields.append((field.tag, field.whole))
        }
        let skip = fields.first?.tag == 0xA0 ? 6 : 5
        guard fields.count > skip, fields[skip].tag == 0x30 else {
            throw NotAnRSAKey(description: "the certificate has no subjectPublicKeyInfo")
        }
        return Array(der[fields[skip].whole])
    }

    /// One DER element at `index` (moved past it).
    private static func element(_ der: [UInt8], _ index: inout Int) throws -> (
        tag: UInt8, content: Range<Int>, whole: Range<Int>
    ) {
        let start = index
        guard index + 2 <= der.count else { throw NotAnRSAKey(description: "truncated certificate") }
        let tag = der[index]
        var length = Int(der[index + 1])
        index += 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard (1...4).contains(count), index + count <= der.count else {
                throw NotAnRSAKey(description: "bad length in certificate")
            }
            length = der[index..<index + count].reduce(0) { $0 << 8 | Int($1) }
            index += count
        }
        guard index + length <= der.count else { throw NotAnRSAKey(description: "truncated certificate") }
        let content = index..<index + length
        index += length
        return (tag, content, start..<index)
    }
}
