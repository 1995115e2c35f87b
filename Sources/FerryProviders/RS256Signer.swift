import Crypto
import _CryptoExtras

/// RSASSA-PKCS1-v1_5 with SHA-256 over a service account's PEM key, as Google's token endpoint requires.
struct RS256Signer: JWTSigner {
    let algorithm = "RS256"
    private let key: _RSA.Signing.PrivateKey

    /// - Throws: when `pem` is not an RSA private key in PEM form.
    init(pem: String) throws {
        self.key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        let signature = try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        return Array(signature.rawRepresentation)
    }
}
