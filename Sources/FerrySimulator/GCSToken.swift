import Foundation
import Hummingbird

/// `POST /token`: Google's OAuth 2.0 token endpoint for service accounts (RFC 7523 JWT bearer grant).
extension SimulatorRoutes {
    static let jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    /// How far in the future `iat` may be (clock skew), in seconds.
    static let allowedClockSkew: Double = 300

    func issueToken(_ request: Request) async throws -> Response {
        let body = try await readSmallBody(request, limit: 64 * 1024)
        let form = GCSQuery(String(decoding: body, as: UTF8.self))
        guard let grant = form.nonEmpty("grant_type") else {
            throw OAuthError(error: "invalid_request", description: "Missing required parameter: grant_type")
        }
        guard grant == Self.jwtBearerGrant else {
            throw OAuthError(error: "unsupported_grant_type", description: "Invalid grant_type: \(grant)")
        }
        guard let assertion = form.nonEmpty("assertion") else {
            throw OAuthError(error: "invalid_request", description: "Missing required parameter: assertion")
        }
        let claims = try validateAssertion(assertion, audience: origin(request) + "/token")
        let token = core.issueGCSToken(scopes: claims.scopes)
        return jsonResponse(
            .object([
                ("access_token", .string(token)),
                ("expires_in", .int(Int(SimulatorCore.accessTokenLifetime))),
                ("token_type", .string("Bearer")),
            ]))
    }

    struct AssertionClaims {
        var issuer: String
        var scopes: [String]
    }

    /// Checks the JWT's shape, header, claims and times, and its RS256 signature when the issuer's key was
    /// registered (`Simulator.registerServiceAccount`).
    func validateAssertion(_ assertion: String, audience: String, now: Double = SimulatorCore.now()) throws
        -> AssertionClaims
    {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }), let headerBytes = Base64URL.decode(parts[0]),
            let claimBytes = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]),
            let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: Data(claimBytes))) as? [String: Any]
        else {
            throw OAuthError.invalidGrant(
                "Invalid JWT: the assertion must be three base64url parts (header.claims.signature) whose first two are JSON objects.")
        }
        guard let algorithm = header["alg"] as? String, algorithm == "RS256" else {
            throw OAuthError.invalidGrant(
                "Invalid JWT: unsupported signing algorithm \(header["alg"].map { "\($0)" } ?? "(none)"); use RS256.")
        }
        guard let issuer = claims["iss"] as? String, !issuer.isEmpty else {
            throw OAuthError.invalidGrant("Invalid JWT: the iss claim (the service account's client_email) is missing.")
        }
        func number(_ key: String) -> Double? {
            if let value = claims[key] as? Double { return value }
            if let value = claims[key] as? Int { return Double(value) }
            return nil
        }
        guard let aud = claims["aud"] as? String else {
            throw OAuthError.invalidGrant("Invalid JWT: the aud claim is missing. The right audience is \(audience)")
        }
        guard let iat = number("iat"), let exp = number("exp") else {
            throw OAuthError.invalidGrant("Invalid JWT: the iat and exp claims (seconds since 1970) are required.")
        }
        guard exp > iat, exp - iat <= 3600, exp > now, iat <= now + Self.allowedClockSkew else {
            throw OAuthError.invalidGrant(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        }
        guard aud == audience else {
            throw OAuthError.invalidGrant("Invalid JWT: Failed audience check. The right audience is \(audience)")
        }
        let scopes = ((claims["scope"] as? String) ?? "").split(separator: " ").map(String.init)
        guard !scopes.isEmpty else {
            throw OAuthError(error: "invalid_scope", description: "Invalid OAuth scope or ID token audience provided.")
        }
        if let key = core.gcs.withLockedValue({ $0.serviceAccounts[issuer] }) {
            let signed = Array(assertion.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
            guard key.verifiesRS256(signature: signature, message: signed) else {
                throw OAuthError.invalidGrant("Invalid JWT Signature.")
            }
        }
        return AssertionClaims(issuer: issuer, scopes: scopes)
    }
}
