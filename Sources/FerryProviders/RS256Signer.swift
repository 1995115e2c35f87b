#if canImport(_CryptoExtras)
    import Crypto
    import _CryptoExtras

    /// RSASSA-PKCS1-v1_5 with SHA-256 over a service account's PEM key, as Google's token endpoint requires.
    struct RS256Signer: JWTSigner {
        let algorithm = "RS256"
        private let key: _RSA.Signing.PrivateKey

        init(pem: String) throws {
            self.key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        }

        func sign(_ message: [UInt8]) throws -> [UInt8] {
            let signature = try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
            return Array(signature.rawRepresentation)
        }
    }

    /// Whether this build can sign service-account JWTs.
    let rs256SigningAvailable = true

    func makeRS256Signer(pem: String) throws -> any JWTSigner {
        try RS256Signer(pem: pem)
    }
#else
    /// Whether this build can sign service-account JWTs: it needs swift-crypto's `_CryptoExtras` product.
    let rs256SigningAvailable = false

    func makeRS256Signer(pem: String) throws -> any JWTSigner {
        throw RS256Unavailable()
    }

    private struct RS256Unavailable: Error {}
#endif
