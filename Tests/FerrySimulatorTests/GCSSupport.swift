import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import Testing

@testable import FerrySimulator
import _CryptoExtras

// Helpers for the Cloud Storage flavor's tests.

let testBucket = "ferry-test-bucket"
let storageScope = "https://www.googleapis.com/auth/devstorage.read_write"

/// Percent-encodes a path segment or query value the way Cloud Storage clients do (only RFC 3986 unreserved
/// characters stay as they are), independently of the simulator's own encoder.
func enc(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed)!
}

/// A simulator whose GCS routes accept `token`.
func withGCS<T>(
    _ configuration: SimulatorConfiguration = .init(), _ body: (Simulator, [(String, String)]) async throws -> T
) async throws -> T {
    try await withSimulator(configuration) { sim in
        try await body(sim, bearer(sim.issueAccessToken()))
    }
}

/// `POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=…`.
func mediaUpload(
    _ sim: Simulator, _ auth: [(String, String)], bucket: String = testBucket, name: String, data: [UInt8],
    contentType: String = "text/plain", extraQuery: String = ""
) async throws -> Reply {
    try await send(
        .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(bucket)/o?uploadType=media&name=\(enc(name))\(extraQuery)",
        headers: auth + [("Content-Type", contentType)], body: data)
}

func objectURL(_ sim: Simulator, bucket: String = testBucket, _ name: String) -> String {
    "\(sim.gcsBaseURL)/storage/v1/b/\(bucket)/o/\(enc(name))"
}

func listURL(_ sim: Simulator, bucket: String = testBucket, _ query: String = "") -> String {
    "\(sim.gcsBaseURL)/storage/v1/b/\(bucket)/o" + (query.isEmpty ? "" : "?" + query)
}

extension Reply {
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    var names: [String] { items.compactMap { $0["name"] as? String } }
    var jsonKeys: [String] { json.keys.sorted() }
    /// `error.errors[0].reason` of a Cloud Storage error.
    var reason: String? { (error["errors"] as? [[String: Any]])?.first?["reason"] as? String }
}

/// Lists every page (following nextPageToken), returning the names and the number of pages.
func listAll(_ sim: Simulator, _ auth: [(String, String)], _ query: String) async throws -> (names: [String], pages: Int) {
    var names: [String] = []
    var pages = 0
    var token: String?
    repeat {
        let q = query + (token.map { "&pageToken=\(enc($0))" } ?? "")
        let reply = try await send(.GET, listURL(sim, q), headers: auth)
        #expect(reply.status == 200)
        names += reply.names
        pages += 1
        token = reply.json["nextPageToken"] as? String
    } while token != nil && pages < 100
    return (names, pages)
}

/// A JWT with any signature (the simulator checks signatures only for registered service accounts).
func makeJWT(header: [String: Any] = ["alg": "RS256", "typ": "JWT"], claims: [String: Any], signature: [UInt8] = Array("not-a-real-signature".utf8)) -> String {
    func part(_ object: [String: Any]) -> String {
        Base64URL.encode(Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])))
    }
    return part(header) + "." + part(claims) + "." + Base64URL.encode(signature)
}

func serviceAccountClaims(_ sim: Simulator, issuedAt: Int? = nil, lifetime: Int = 3600, scope: String = storageScope) -> [String: Any] {
    let now = issuedAt ?? Int(Date().timeIntervalSince1970)
    return ["iss": "ferry@test-project.iam.gserviceaccount.com", "scope": scope, "aud": sim.tokenURL, "iat": now, "exp": now + lifetime]
}

func tokenRequest(_ sim: Simulator, assertion: String, grantType: String = "urn:ietf:params:oauth:grant-type:jwt-bearer") async throws -> Reply {
    try await send(
        .POST, sim.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
        body: Array("grant_type=\(enc(grantType))&assertion=\(enc(assertion))".utf8))
}

/// Deterministic bytes.
func pattern(_ count: Int, seed: Int = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ ($0 >> 8) &+ seed) }
}

// MARK: A throwaway RSA key, for signature tests only (generated for these tests; it guards nothing).

enum TestServiceAccount {
    static let email = "signer@test-project.iam.gserviceaccount.com"

    /// PKCS #8 DER (base64) of the key; wrapped into a PEM at run time.
    static let privateKeyBase64 = [
        "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCPE2+ojPhueVQeBVpALjx5PqyPO6/6IkZPLuGMU0n2vl0Lt4Jy",
        "T4qn4UvtVeZArZeSSSzbWEwwmF2fb4YxwLWhHxmvsmBW0Se0XqPsBuSgUwvxTSSx5hyx0clPpBC+P969crK3k5BD+uvbJpqXVKLk",
        "J7rLx/mqq6jWehpoN7RUucv9Wjr+VmAj4UeTVZ7TgJhTrC59UjdPkoNR1YdB3KMfe2cM77lN8C+Wecf1G2Cbd8XMYMzmLp5OT28N",
        "TB6vEhO5qn9aws1L3kgdaqBUPiM2UJkgo97jSGrAqbv1Yy/fzDOEqPPGs9+5DqXLNwAs8Itg9hk+cYhz+FhQ58jb1mGzAgMBAAEC",
        "ggEAIKluNwsfd5DJDCVqqfYkJgWRvQ0CKlcCt/ba1H77BpIEibU12UShQZvkCmUusBsw29tKmzQ4CGvwC4KZHuiATizcX0iYR5lt",
        "t/ZW833LWXI76rUSqG4ApPNgQocQr23DOnphpBjSuUIh76CLb/qJSQ5szTJ0o2qWm4e6WYpF54U/UeuhQNh5W7LIi4ZXZoaTbKB9",
        "PyJaEaFuiVt4EXQOO2ZmWFQE+kTBfFsKKFCmgI8DZj6zYWAuweMS0PI55MeHSSpfa22uxuBP77jc9J62YVVMthrKHOHAF0P5T0UV",
        "r+Z70OrtO/whDKq7DXq4H/fPFIxybMAkaQ1apUMf0GiEWQKBgQDB5C0C7pNwLXBbWH7Oa6L+2tnxv3fa+4hDzdbJQ5g2zCdwt7Vi",
        "nZwlFoMVtLgTXRRLbOAwABpmLPaHZczP6PS0h2khMDg+l0fEL6SZ1jjoMKi74A7GxLrZLIDKErnzr/L/nzX//nvU8W6B7BiOnAgC",
        "jiaIYPOm50qAQmrPy8ExRQKBgQC86DSS5YTJQRg7QtCaoKzRAuSDn1nEUCWxCNz1HA5BLjP8YLhojEM1NRfmd/w+jwqwXxcLIKQN",
        "qMAxYsuXjCtMmgpUDpAQUBe1MPSSvoA+HlGA5X272DG7yqzLKJ8xDDy53qkJvLsqD/4NCquz9nJzFhDUCkvPoX2Cl8rCR+kqlwKB",
        "gQCHmZbJOCUxDPZJTCjTIIAMEO7fnXKrWcLA+NJAS9/GYx0qPbDDWUr8vTPMGGmsUSqCXZCkwU21K7j2lIGa3mdVYmZp6ZlMXOy6",
        "Dj/lvuZprK41RsvOw4ORowgnStV10hX2JFjVwhrEoF0SzBWYlxMbBmN4eaWtkpCOBuVAklV4qQKBgQC7rphNOetraFkCx6cpeWk5",
        "X35ZpwAwotBPy1Z7z5v59kWAATg15uT+//j26U6beNJN2Ku0SoGzcG1Co71Sm9iJCqIoUS+ghXKIelMDWHFhRg4D2f3Jm0oOIZb7",
        "YSiIOng60pVvLytk5u6pVmixK7EZ1lpx0KjxaKiiDt1LmNZ3kQKBgFRu+5ddOKJcelvF6jwM22o1TBHCkylEmxK65u9NaoOmoo/s",
        "N2V8w9WS4S5yN4EaiZ8gE8ooySlwdLxQfGt0CG+KQaxonTIIy3RVxDzS0WxKfuQnM5X11SqQfp/bO0h17KNTxHbe7YdZd2KB/Ntb",
        "ek9bbvEdil+FuM1+wBKJMPUo",
    ].joined()

    static var privateKeyPEM: String {
        let label = "PRIVATE" + " KEY"
        var lines = ["-----BEGIN \(label)-----"]
        var rest = Substring(privateKeyBase64)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n")
    }

    static let publicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjxNvqIz4bnlUHgVaQC48
        eT6sjzuv+iJGTy7hjFNJ9r5dC7eCck+Kp+FL7VXmQK2Xkkks21hMMJhdn2+GMcC1
        oR8Zr7JgVtEntF6j7AbkoFML8U0kseYcsdHJT6QQvj/evXKyt5OQQ/rr2yaal1Si
        5Ce6y8f5qquo1noaaDe0VLnL/Vo6/lZgI+FHk1We04CYU6wufVI3T5KDUdWHQdyj
        H3tnDO+5TfAvlnnH9Rtgm3fFzGDM5i6eTk9vDUwerxITuap/WsLNS95IHWqgVD4j
        NlCZIKPe40hqwKm79WMv38wzhKjzxrPfuQ6lyzcALPCLYPYZPnGIc/hYUOfI29Zh
        swIDAQAB
        -----END PUBLIC KEY-----
        """

    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIDFTCCAf2gAwIBAgIUCoiD4k2BNxHO6VgoFCySldM/9IYwDQYJKoZIhvcNAQEL
        BQAwGTEXMBUGA1UEAwwOZmVycnktc2ltLXRlc3QwIBcNMjYxMTI1MTk1OTE0WhgP
        MjEyNjExMDExOTU5MTRaMBkxFzAVBgNVBAMMDmZlcnJ5LXNpbS10ZXN0MIIBIjAN
        BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjxNvqIz4bnlUHgVaQC48eT6sjzuv
        +iJGTy7hjFNJ9r5dC7eCck+Kp+FL7VXmQK2Xkkks21hMMJhdn2+GMcC1oR8Zr7Jg
        VtEntF6j7AbkoFML8U0kseYcsdHJT6QQvj/evXKyt5OQQ/rr2yaal1Si5Ce6y8f5
        qquo1noaaDe0VLnL/Vo6/lZgI+FHk1We04CYU6wufVI3T5KDUdWHQdyjH3tnDO+5
        TfAvlnnH9Rtgm3fFzGDM5i6eTk9vDUwerxITuap/WsLNS95IHWqgVD4jNlCZIKPe
        40hqwKm79WMv38wzhKjzxrPfuQ6lyzcALPCLYPYZPnGIc/hYUOfI29ZhswIDAQAB
        o1MwUTAdBgNVHQ4EFgQU3RPLrFfXupa/z3dAcvnayIF3tOwwHwYDVR0jBBgwFoAU
        3RPLrFfXupa/z3dAcvnayIF3tOwwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B
        AQsFAAOCAQEAIsYfgtvKNidfjHPhvig4qSht/r5LSWkRbkNXHFMLpR1EdTkQf2Bg
        69vRw51FxbUnwI/PjS+VJLN2eKqSXS373RDJU60LLJfqb9GQlh/PlbE3VM7r4Snc
        VPz3IvMwrzQcemtPj9Bmj33rdUEMtpzyH2hhjnR5t9iqqYb6aWWzyvxmc896mQIS
        nKKv9bUsZ13GeHS0Qs+yp9l8dttyXTdQYjmha6L5ewExBHldL02lU+/Jjo0P7OIJ
        G3n4jCjt/C6KKYQ2+PcltFgHffbfVRsi+kqLTG19bfSSbdDbDorGwjUIOVx37uJD
        5nO9ff6/eaI14+uZ5I0CEJOLP+GN6TTWGw==
        -----END CERTIFICATE-----
        """

    /// `openssl dgst -sha256 -sign key.pem` of the bytes `abc.def`.
    static let opensslSignatureOfABCDotDEF = "RLSt/A2+cYvRgU7R4MpR6elKpwVFADxAUCm/0dXm7xQMp/QI4dDc0X1FzAHlVIsYnIKITMcybPHtUBr4ZTLF+HfgUujjD+uHRdoFXdGeqIYc0WDvgkNfEhZf7zfdF12/OBL37qWLG0YRQKqSCt7ufIWGDBcAzWc3TiRSfmeiE7bmxV3sLuxunQTYsA+iSxRwwLXW39OMKW3R8NnHGB7a97wCg1vIhh6Y9U0lkiDdb31eDXAbUlXR3ybf+8T1rK+pdqSPWtlS7UtnUogWBdFr6+MMRXMN2fXiRrXEN6q99IyBKj3aK7WXmLYZ5pjVGUd4vyfQPcVtDri4brPmSJpLOA=="

    /// RS256-signs `message` with the test key (swift-crypto; PKCS #1 v1.5 is deterministic).
    static func sign(_ message: [UInt8]) throws -> [UInt8] {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        return Array(try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
    }
}
