import Foundation
import Testing

@testable import FerrySimulator

@Suite("Cloud Storage authentication and the token endpoint")
struct GCSAuthTests {
    @Test("a well-formed service-account JWT gets a token that the storage routes accept")
    func tokenFlow() async throws {
        try await withSimulator { sim in
            let assertion = makeJWT(claims: serviceAccountClaims(sim))
            let reply = try await tokenRequest(sim, assertion: assertion)
            #expect(reply.status == 200)
            let token = try #require(reply.json["access_token"] as? String)
            #expect(matches(token, "^ya29\\.sim-[A-Za-z0-9]{48}$"))
            #expect(reply.json["expires_in"] as? Int == 3600)
            #expect(reply.json["token_type"] as? String == "Bearer")
            #expect(reply.jsonKeys == ["access_token", "expires_in", "token_type"])

            #expect(try await mediaUpload(sim, bearer(token), name: "a.txt", data: [1]).status == 200)
            #expect(try await send(.GET, listURL(sim), headers: bearer(token)).names == ["a.txt"])
            // Each exchange gives a new token; both stay valid.
            let second = try await tokenRequest(sim, assertion: assertion)
            let other = try #require(second.json["access_token"] as? String)
            #expect(other != token)
            #expect(try await send(.GET, listURL(sim), headers: bearer(token)).status == 200)
            #expect(sim.stats().requests["POST /token"] == 2)
        }
    }

    @Test("malformed, expired, mis-addressed and unsupported assertions are refused with OAuth errors")
    func refusals() async throws {
        try await withSimulator { sim in
            func expectError(_ reply: Reply, _ error: String, _ description: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(reply.status == 400, sourceLocation: sourceLocation)
                #expect(reply.json["error"] as? String == error, sourceLocation: sourceLocation)
                #expect(reply.json["error_description"] as? String == description, sourceLocation: sourceLocation)
            }
            let now = Int(Date().timeIntervalSince1970)
            let timeframe =
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
            let shape =
                "Invalid JWT: the assertion must be three base64url parts (header.claims.signature) whose first two are JSON objects."

            expectError(try await tokenRequest(sim, assertion: "only.two"), "invalid_grant", shape)
            expectError(try await tokenRequest(sim, assertion: "a.b.c"), "invalid_grant", shape)
            let valid = makeJWT(claims: serviceAccountClaims(sim))
            expectError(try await tokenRequest(sim, assertion: valid + ".extra"), "invalid_grant", shape)
            // Expired an hour ago.
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim, issuedAt: now - 7200))),
                "invalid_grant", timeframe)
            // Longer than an hour.
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim, lifetime: 7200))),
                "invalid_grant", timeframe)
            // Issued in the future.
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim, issuedAt: now + 3600))),
                "invalid_grant", timeframe)
            var claims = serviceAccountClaims(sim)
            claims["aud"] = "https://oauth2.googleapis.com/token"
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: claims)), "invalid_grant",
                "Invalid JWT: Failed audience check. The right audience is \(sim.tokenURL)")
            claims = serviceAccountClaims(sim)
            claims.removeValue(forKey: "iss")
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: claims)), "invalid_grant",
                "Invalid JWT: the iss claim (the service account's client_email) is missing.")
            claims = serviceAccountClaims(sim)
            claims.removeValue(forKey: "exp")
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: claims)), "invalid_grant",
                "Invalid JWT: the iat and exp claims (seconds since 1970) are required.")
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(header: ["alg": "HS256"], claims: serviceAccountClaims(sim))),
                "invalid_grant", "Invalid JWT: unsupported signing algorithm HS256; use RS256.")
            expectError(
                try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim, scope: ""))),
                "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
            expectError(
                try await tokenRequest(sim, assertion: valid, grantType: "client_credentials"), "unsupported_grant_type",
                "Invalid grant_type: client_credentials")
            let missing = try await send(
                .POST, sim.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer".utf8))
            expectError(missing, "invalid_request", "Missing required parameter: assertion")
            #expect(sim.stats().requests["POST /token"] == 13)
            #expect(sim.stats().responses["400"] == 13)
        }
    }

    @Test("storage routes: 401 without a token or with an unknown one, 403 for a read-only scope")
    func authorization() async throws {
        try await withSimulator { sim in
            let anonymous = try await send(.GET, listURL(sim))
            #expect(anonymous.status == 401)
            #expect(
                anonymous.text
                    == "{\"error\":{\"code\":401,\"message\":\"Login Required\",\"errors\":[{\"message\":\"Login Required\",\"domain\":\"global\",\"reason\":\"required\",\"locationType\":\"header\",\"location\":\"Authorization\"}]}}")
            let upload = try await mediaUpload(sim, [], name: "x", data: [1])
            #expect(upload.status == 401)
            let unknown = try await send(.GET, listURL(sim), headers: bearer("ya29.made-up"))
            #expect(unknown.status == 401)
            #expect(unknown.error["message"] as? String == "Invalid Credentials")
            #expect(unknown.reason == "authError")
            let expired = sim.issueAccessToken(lifetime: .milliseconds(1))
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await send(.GET, listURL(sim), headers: bearer(expired)).status == 401)

            let readOnly = sim.issueAccessToken(scopes: ["https://www.googleapis.com/auth/devstorage.read_only"])
            sim.seedObject(bucket: testBucket, name: "r.txt", data: [1])
            #expect(try await send(.GET, listURL(sim), headers: bearer(readOnly)).status == 200)
            let denied = try await mediaUpload(sim, bearer(readOnly), name: "w.txt", data: [1])
            #expect(denied.status == 403)
            #expect(denied.reason == "insufficientPermissions")
            #expect(try await send(.DELETE, objectURL(sim, "r.txt"), headers: bearer(readOnly)).status == 403)
            #expect(sim.objects(bucket: testBucket).map(\.filename) == ["r.txt"])
            #expect(sim.files(apiKey: "anything", flavor: .gcs).isEmpty)
        }
    }

    @Test("anyBearerToken accepts any bearer; anonymous needs none")
    func modes() async throws {
        try await withSimulator(SimulatorConfiguration(gcsAuthentication: .anyBearerToken)) { sim throws in
            #expect(try await mediaUpload(sim, bearer("whatever"), name: "a", data: [1]).status == 200)
            #expect(try await send(.GET, listURL(sim)).status == 401)
        }
        try await withSimulator(SimulatorConfiguration(gcsAuthentication: .anonymous)) { sim throws in
            #expect(try await mediaUpload(sim, [], name: "a", data: [1]).status == 200)
            #expect(try await send(.GET, listURL(sim)).names == ["a"])
            #expect(try await send(.GET, listURL(sim), headers: bearer("ignored")).status == 200)
        }
    }

    @Test("RS256 signatures are verified for registered service accounts")
    func signatures() async throws {
        // The verifier agrees with OpenSSL.
        let key = try ServiceAccountPublicKey(pem: TestServiceAccount.publicKeyPEM)
        let opensslSignature = Array(Data(base64Encoded: TestServiceAccount.opensslSignatureOfABCDotDEF)!)
        #expect(key.key.keySizeInBits == 2048)
        #expect(key.verifiesRS256(signature: opensslSignature, message: Array("abc.def".utf8)))
        #expect(!key.verifiesRS256(signature: opensslSignature, message: Array("abc.deg".utf8)))
        // Every PEM form names the same key.
        for pem in [TestServiceAccount.certificatePEM, TestServiceAccount.privateKeyPEM] {
            #expect(try ServiceAccountPublicKey(pem: pem).key.derRepresentation == key.key.derRepresentation)
        }
        // Our own signing (used below) matches OpenSSL's: PKCS #1 v1.5 is deterministic.
        let ours = try TestServiceAccount.sign(Array("abc.def".utf8))
        #expect(ours == opensslSignature)

        try await withSimulator { sim in
            try sim.registerServiceAccount(email: TestServiceAccount.email, pem: TestServiceAccount.privateKeyPEM)
            var claims = serviceAccountClaims(sim)
            claims["iss"] = TestServiceAccount.email
            let unsigned = makeJWT(claims: claims)
            let signingInput = String(unsigned.split(separator: ".").prefix(2).joined(separator: "."))
            let signature = try TestServiceAccount.sign(Array(signingInput.utf8))
            let signed = signingInput + "." + Base64URL.encode(signature)
            let accepted = try await tokenRequest(sim, assertion: signed)
            #expect(accepted.status == 200)
            #expect(accepted.json["access_token"] is String)

            let refused = try await tokenRequest(sim, assertion: unsigned)
            #expect(refused.status == 400)
            #expect(refused.json["error"] as? String == "invalid_grant")
            #expect(refused.json["error_description"] as? String == "Invalid JWT Signature.")
            var tampered = signature
            tampered[10] ^= 1
            #expect(try await tokenRequest(sim, assertion: signingInput + "." + Base64URL.encode(tampered)).status == 400)
            // Issuers never registered are checked for shape, claims and times only.
            #expect(try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim))).status == 200)
            #expect(throws: (any Error).self) { try sim.registerServiceAccount(email: "x", pem: "not a key") }
        }
    }
}
