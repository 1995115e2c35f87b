import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import FerryProviders

@Suite struct RS256SignerTests {
    /// A service account's PEM key signs JWTs that its public key verifies (RSASSA-PKCS1-v1_5, SHA-256).
    @Test func signsVerifiably() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let signer = try RS256Signer(pem: key.pemRepresentation)
        #expect(signer.algorithm == "RS256")
        let message = Array("header.claims".utf8)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try signer.sign(message))
        #expect(
            key.publicKey.isValidSignature(signature, for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        )
    }

    /// Something that is not a PEM RSA key is refused.
    @Test func rejectsGarbage() {
        #expect(throws: (any Error).self) { try RS256Signer(pem: "-----BEGIN PRIVATE KEY-----\nnope\n") }
    }
}
