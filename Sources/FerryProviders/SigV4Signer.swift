import Crypto
import FerryCore
import Foundation

/// AWS Signature Version 4 for S3, header form (`Authorization: AWS4-HMAC-SHA256 …`): a pure function of the
/// request's method, encoded path, query, headers and payload hash, the time and the keys. Checked byte for byte
/// against vectors made with botocore's `S3SigV4Auth` (Tests/Fixtures/sigv4-vectors.json).
///
/// S3 differs from other services in two ways that matter here: the canonical URI is the path exactly as sent
/// (each key segment percent-encoded once, never twice, `/` kept), and every request must carry
/// `x-amz-content-sha256`, which is also the canonical request's last line.
public struct SigV4Signer: Sendable {
    /// `x-amz-content-sha256` for a body that is not hashed before sending (streamed multipart parts).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Every intermediate text of one signature, for tests and for the `Authorization` header.
    public struct Signature: Sendable, Hashable {
        public var canonicalRequest: String
        public var stringToSign: String
        /// `host;x-amz-content-sha256;x-amz-date`.
        public var signedHeaders: String
        /// 64 hex digits.
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
    }

    /// Signs a request.
    /// - Parameters:
    ///   - encodedPath: the URL's path as sent, already percent-encoded (`S3Path.encode`).
    ///   - query: the query's parameters, not encoded (they are encoded here, as in the URL).
    ///   - headers: every header to sign, names in any case. It must hold `host`, `x-amz-date` (equal to
    ///     `amzDate`), `x-amz-content-sha256` (equal to `payloadHash`) and `x-amz-security-token` with session
    ///     credentials (`headers(…)` makes those).
    ///   - amzDate: `yyyyMMdd'T'HHmmss'Z'`.
    public func sign(
        method: String, encodedPath: String, query: [(String, String)], headers: [(String, String)],
        payloadHash: String, amzDate: String
    ) -> Signature {
        let canonicalQuery = Self.canonicalQuery(query)
        // Lower-case names; values trimmed with inner runs of spaces folded; repeated names joined by commas.
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            grouped[name.lowercased(), default: []].append(
                value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " "))
        }
        let names = grouped.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method.uppercased(), encodedPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SHA256Digest.hex(canonicalRequest),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization)
    }

    /// The headers S3 needs signed besides the caller's own: `host`, `x-amz-date`, `x-amz-content-sha256` and,
    /// with session credentials, `x-amz-security-token`.
    public func requiredHeaders(host: String, payloadHash: String, amzDate: String) -> [(String, String)] {
        var headers = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        return headers
    }

    /// `key=value` pairs, both encoded (RFC 3986 unreserved characters kept), sorted by encoded key then value;
    /// `key=` for an empty value.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(String, String)] = query.map {
            (S3Path.encode($0.0, keepSlash: false), S3Path.encode($0.1, keepSlash: false))
        }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// `20260101T123045Z` for a date (UTC).
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!,
            parts.second!)
    }
}

/// S3 request paths and query strings, encoded the way botocore (and so LiteLLM) encodes them.
public enum S3Path {
    /// Percent-encodes UTF-8 bytes except RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) and, for paths,
    /// `/`.
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                output.append("/")
            default:
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// `key=value&…` in the given order, each side encoded as `encode(_:keepSlash: false)`.
    public static func query(_ query: [(String, String)]) -> String {
        query.map { "\(encode($0.0, keepSlash: false))=\(encode($0.1, keepSlash: false))" }.joined(separator: "&")
    }
}
