/// Static AWS keys for S3 (Bedrock batch files). Held in memory only: the loader packs them into the endpoint's
/// one `Secret` (`packed`) and the S3 client unpacks them; the access key id is not secret, the rest is.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Present for temporary credentials (STS); sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Never shows the secret key or the token.
    public var description: String { "AWSCredentials(\(accessKeyID), <redacted>)" }

    /// The three values joined by newlines (which none of them may contain: see `problem`).
    public var packed: String { [accessKeyID, secretAccessKey, sessionToken ?? ""].joined(separator: "\n") }

    /// Reads `packed` back; nil for a text that is not one.
    public init?(packed: String) {
        let parts = packed.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(accessKeyID: parts[0], secretAccessKey: parts[1], sessionToken: parts[2].isEmpty ? nil : parts[2])
    }

    /// Why the keys cannot be sent (control characters, spaces in the key id), or nil. Never quotes a value.
    public var problem: String? {
        func bad(_ text: String) -> Bool { text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } }
        if accessKeyID.isEmpty || secretAccessKey.isEmpty { return "a key is empty" }
        if bad(accessKeyID) || accessKeyID.contains(" ") || accessKeyID.contains("/") {
            return "the access key id contains a space, '/' or a control character"
        }
        if bad(secretAccessKey) { return "the secret access key contains a control character (a trailing newline?)" }
        if let sessionToken, bad(sessionToken) { return "the session token contains a control character" }
        return nil
    }
}

extension Endpoint {
    /// An `s3_bucket_name` setting as Ferry uses it: without `s3://` or trailing slashes, and with Ferry's own
    /// object prefix (`ferry`) when the setting names only a bucket. `my-bucket` → `my-bucket/ferry`.
    public static func s3BucketSetting(_ text: String) -> String {
        var setting = text.hasPrefix("s3://") ? String(text.dropFirst(5)) : text
        while setting.hasSuffix("/") { setting.removeLast() }
        if !setting.contains("/") { setting += "/ferry" }
        return setting
    }

    /// S3's regional endpoint, as LiteLLM builds it: `https://s3.{region}.amazonaws.com` (`.amazonaws.com.cn` in
    /// the China partition).
    public static func defaultS3Endpoint(region: String) -> String {
        "https://s3.\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
    }
}
