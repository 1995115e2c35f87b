import FerryCore
import Foundation
import NIOCore

/// How a Cloud Storage client authenticates.
public enum GoogleCredentials: Sendable {
    /// No credential at all: for a storage emulator (`STORAGE_EMULATOR_HOST`).
    case anonymous
    /// A ready OAuth2 access token (e.g. from `gcloud auth print-access-token`); it is not refreshed.
    case accessToken(Secret)
    /// A service-account key: Ferry signs a JWT (RS256) and exchanges it for access tokens, cached until shortly
    /// before they expire.
    case serviceAccount(ServiceAccountKey)

    /// Reads what an endpoint's credential holds: a service-account key as JSON, a path to such a file, or an
    /// access token. `nil` is `.anonymous`.
    /// - Throws: `ProviderError` (`.invalidConfiguration`) naming the credential reference, never its value.
    public init(secret: Secret?, endpoint: Endpoint) throws {
        guard let secret, !secret.value.isEmpty else {
            self = .anonymous
            return
        }
        let value = secret.value.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.hasPrefix("{") {
            self = .serviceAccount(try ServiceAccountKey(json: Array(value.utf8), endpoint: endpoint))
        } else if value.hasPrefix("/") || value.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: value) else {
                throw ProviderError.invalidConfiguration(
                    "the service-account key file named by \(endpoint.credential) cannot be read", endpoint: endpoint
                )
            }
            self = .serviceAccount(try ServiceAccountKey(json: Array(data), endpoint: endpoint))
        } else {
            self = .accessToken(Secret(value))
        }
    }
}

/// The fields Ferry needs from a Google service-account key file.
public struct ServiceAccountKey: Sendable, Hashable {
    public var clientEmail: String
    /// PEM (PKCS #8) RSA private key.
    public var privateKey: Secret
    public var privateKeyID: String?
    /// Where tokens are obtained; also the JWT audience.
    public var tokenURI: String
    public var projectID: String?

    public init(
        clientEmail: String, privateKey: Secret, privateKeyID: String? = nil,
        tokenURI: String = "https://oauth2.googleapis.com/token", projectID: String? = nil
    ) {
        self.clientEmail = clientEmail
        self.privateKey = privateKey
        self.privateKeyID = privateKeyID
        self.tokenURI = tokenURI
        self.projectID = projectID
    }

    /// Decodes a key file.
    /// - Throws: `ProviderError` (`.invalidConfiguration`) naming the missing field, never echoing the key.
    public init(json: [UInt8], endpoint: Endpoint) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw ProviderError.invalidConfiguration(
                "the credential \(endpoint.credential) is not a JSON service-account key", endpoint: endpoint
            )
        }
        guard let email = object["client_email"] as? String, !email.isEmpty,
            let key = object["private_key"] as? String, !key.isEmpty
        else {
            throw ProviderError.invalidConfiguration(
                "the service-account key from \(endpoint.credential) lacks client_email or private_key",
                endpoint: endpoint
            )
        }
        self.init(
            clientEmail: email, privateKey: Secret(key), privateKeyID: object["private_key_id"] as? String,
            tokenURI: (object["token_uri"] as? String) ?? "https://oauth2.googleapis.com/token",
            projectID: object["project_id"] as? String
        )
    }
}

/// Signs a JWT's signing input. RS256 in production; tests may use another algorithm.
protocol JWTSigner: Sendable {
    /// The JOSE `alg` value.
    var algorithm: String { get }
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

/// The self-signed JWT a service account exchanges for an access token (RFC 7523).
enum ServiceAccountJWT {
    static let storageScope = "https://www.googleapis.com/auth/devstorage.read_write"

    private struct Header: Encodable {
        var alg: String
        var typ = "JWT"
        var kid: String?
    }

    private struct Claims: Encodable {
        var iss: String
        var scope: String
        var aud: String
        var iat: Int64
        var exp: Int64
    }

    /// `base64url(header).base64url(claims).base64url(signature)`, valid for an hour from `now`.
    static func make(key: ServiceAccountKey, scope: String, now: Int64, signer: any JWTSigner) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try encoder.encode(Header(alg: signer.algorithm, kid: key.privateKeyID))
        let claims = try encoder.encode(
            Claims(iss: key.clientEmail, scope: scope, aud: key.tokenURI, iat: now, exp: now + 3600)
        )
        let signingInput = base64URL(header) + "." + base64URL(claims)
        let signature = try signer.sign(Array(signingInput.utf8))
        return signingInput + "." + base64URL(Data(signature))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Access tokens for one service account, fetched from the token endpoint and cached until five minutes before
/// they expire. Concurrent callers share one refresh.
actor GoogleTokenSource {
    private struct TokenResponse: Decodable {
        var accessToken: String
        var expiresIn: Int64?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            self.accessToken = try container.decode(String.self, forKey: "access_token")
            self.expiresIn = container.lenientInt64("expires_in")
        }
    }

    private let key: ServiceAccountKey
    private let tokenURL: String
    private let signer: any JWTSigner
    private let transport: ProviderTransport
    private var cached: (token: String, expiresAt: Double)?
    private var refresh: Task<(token: String, expiresAt: Double), any Error>?

    init(
        key: ServiceAccountKey, tokenURL: String?, signer: any JWTSigner, transport: ProviderTransport
    ) {
        self.key = key
        self.tokenURL = tokenURL ?? key.tokenURI
        self.signer = signer
        self.transport = transport
    }

    /// Seconds since 1970 on the transport's clock.
    private func now() -> Double { transport.configuration.clock.now() }

    /// A valid access token.
    /// - Throws: `ProviderError` with code `.authentication`.
    func token() async throws -> String {
        if let cached, now() < cached.expiresAt - 300 { return cached.token }
        if let refresh { return try await refresh.value.token }
        let task = Task { try await fetch() }
        refresh = task
        defer { refresh = nil }
        let fresh = try await task.value
        cached = fresh
        return fresh.token
    }

    private func fetch() async throws -> (token: String, expiresAt: Double) {
        let issuedAt = now()
        let assertion: String
        do {
            assertion = try ServiceAccountJWT.make(
                key: key, scope: ServiceAccountJWT.storageScope, now: Int64(issuedAt), signer: signer
            )
        } catch {
            throw ProviderError(
                .authentication, .terminal, operation: .token, endpoint: transport.endpoint.displayName,
                detail: "cannot sign the service-account JWT for \(key.clientEmail) (is private_key a PEM RSA key?)"
            )
        }
        let body =
            "grant_type=" + "urn:ietf:params:oauth:grant-type:jwt-bearer".percentEncodedComponent
            + "&assertion=" + assertion.percentEncodedComponent
        let url = tokenURL
        do {
            // Called while the caller holds a concurrency slot: this request must not wait for another.
            let response = try await transport.withRetries(.token, bounded: false) {
                var request = transport.request(url, headers: [])
                request.method = .POST
                request.headers.replaceOrAdd(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await transport.send(
                    request, .token, timeout: transport.configuration.requestTimeout)
                return try await transport.decode(TokenResponse.self, from: response, .token)
            }
            return (response.accessToken, issuedAt + Double(response.expiresIn ?? 3600))
        } catch let error as ProviderError {
            throw error.recoded(.authentication)
        }
    }
}
