import FerryCore
import Foundation
import Testing

@testable import FerryProviders

/// One request botocore signed (Tests/Fixtures/sigv4-vectors.json, written by scripts/gen_sigv4_vectors.py).
struct SigV4Vector: Decodable {
    var name: String
    var method: String
    var host: String
    var region: String
    var bucket: String
    var key: String?
    var query: [[String]]
    var url: String
    var encodedPath: String
    var bodySHA256: String
    var sessionToken: String?
    var headers: [String: String]
    var canonicalRequest: String
    var stringToSign: String
    var authorization: String
}

struct SigV4Fixture: Decodable {
    var source: String
    var accessKeyID: String
    var secretAccessKey: String
    var vectors: [SigV4Vector]

    static func load() throws -> SigV4Fixture {
        // Outside every test target's folder, so SwiftPM does not treat it as an undeclared resource.
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sigv4-vectors.json")
        return try JSONDecoder().decode(SigV4Fixture.self, from: Data(contentsOf: path))
    }
}

/// Ferry's SigV4 signer against fixed vectors made by botocore's `S3SigV4Auth` (the signer LiteLLM's bedrock files
/// use): the canonical request, the string to sign and the `Authorization` header must match byte for byte.
@Suite struct SigV4SignerTests {
    /// Every vector: Ferry builds the path and query from the bucket, key and raw query pairs with its own encoder,
    /// signs the headers botocore signed, and gets botocore's exact texts.
    @Test func matchesBotocore() throws {
        let fixture = try SigV4Fixture.load()
        #expect(fixture.source.contains("botocore"))
        #expect(fixture.vectors.count >= 8)
        for vector in fixture.vectors {
            let credentials = AWSCredentials(
                accessKeyID: fixture.accessKeyID, secretAccessKey: fixture.secretAccessKey,
                sessionToken: vector.sessionToken)
            let signer = SigV4Signer(credentials: credentials, region: vector.region)
            let path = "/" + S3Path.encode(vector.bucket, keepSlash: false) + "/"
                + (vector.key.map { S3Path.encode($0, keepSlash: true) } ?? "")
            #expect(path == vector.encodedPath, "\(vector.name): path")
            let query = vector.query.map { ($0[0], $0[1]) }
            let scheme = vector.url.hasPrefix("https") ? "https" : "http"
            let url = "\(scheme)://\(vector.host)\(path)" + (query.isEmpty ? "" : "?" + S3Path.query(query))
            #expect(url == vector.url, "\(vector.name): url")
            let payloadHash = vector.headers["x-amz-content-sha256"]!
            let amzDate = vector.headers["x-amz-date"]!
            // The headers Ferry adds itself, plus the caller's own.
            var headers = signer.requiredHeaders(host: vector.host, payloadHash: payloadHash, amzDate: amzDate)
            let own = Set(headers.map(\.0))
            headers += vector.headers.filter { !own.contains($0.key) }.map { ($0.key, $0.value) }
            #expect(Set(headers.map(\.0)) == Set(vector.headers.keys), "\(vector.name): header names")
            let signature = signer.sign(
                method: vector.method, encodedPath: path, query: query, headers: headers, payloadHash: payloadHash,
                amzDate: amzDate)
            #expect(signature.canonicalRequest == vector.canonicalRequest, "\(vector.name): canonical request")
            #expect(signature.stringToSign == vector.stringToSign, "\(vector.name): string to sign")
            #expect(signature.authorization == vector.authorization, "\(vector.name): authorization")
        }
    }

    /// A different secret, region or date gives a different signature (the comparison above is not vacuous).
    @Test func everyInputCounts() throws {
        let fixture = try SigV4Fixture.load()
        let vector = fixture.vectors[0]
        let base = AWSCredentials(accessKeyID: fixture.accessKeyID, secretAccessKey: fixture.secretAccessKey)
        func sign(_ credentials: AWSCredentials, region: String = vector.region, date: String? = nil) -> String {
            let amzDate = date ?? vector.headers["x-amz-date"]!
            let signer = SigV4Signer(credentials: credentials, region: region)
            var headers = vector.headers
            headers["x-amz-date"] = amzDate
            return signer.sign(
                method: vector.method, encodedPath: vector.encodedPath, query: vector.query.map { ($0[0], $0[1]) },
                headers: headers.map { ($0.key, $0.value) }, payloadHash: vector.headers["x-amz-content-sha256"]!,
                amzDate: amzDate
            ).authorization
        }
        #expect(sign(base) == vector.authorization)
        var other = base
        other.secretAccessKey += "x"
        #expect(sign(other) != vector.authorization)
        #expect(sign(base, region: "eu-west-1") != vector.authorization)
        #expect(sign(base, date: "20260101T123046Z") != vector.authorization)
    }

    /// `x-amz-date` is UTC `yyyyMMdd'T'HHmmss'Z'`; the encoder keeps only unreserved characters (and `/` in paths).
    @Test func dateAndEncoding() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_767_270_645)) == "20260101T123045Z")
        #expect(S3Path.encode("a b/ü+~=.txt", keepSlash: true) == "a%20b/%C3%BC%2B~%3D.txt")
        #expect(S3Path.encode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4Signer.canonicalQuery([("uploads", ""), ("b", "2"), ("a", "x y")]) == "a=x%20y&b=2&uploads=")
    }

    /// Packed credentials round-trip and never print the secret.
    @Test func credentialsNeverPrintSecrets() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "tok3n")
        #expect(AWSCredentials(packed: credentials.packed) == credentials)
        #expect(!"\(credentials)".contains("s3cr3t") && !"\(credentials)".contains("tok3n"))
        #expect(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "x\n").problem != nil)
    }
}
