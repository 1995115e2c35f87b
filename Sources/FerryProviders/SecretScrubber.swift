import Foundation

/// Removes credentials from any text that came off the wire or out of an error, before it is stored or shown.
/// Providers sometimes echo the request's `Authorization` or `api-key` header back in an error body.
struct SecretScrubber: Sendable {
    static let replacement = "<redacted>"
    private let secrets: [String]

    init(secrets: [String]) {
        var forms: [String] = []
        for secret in secrets where !secret.isEmpty {
            forms.append(secret)
            // The same key as it would appear in a URL or a form.
            let encoded = secret.percentEncodedComponent
            if encoded != secret { forms.append(encoded) }
        }
        // Longest first, so a key that contains another is removed whole.
        self.secrets = forms.sorted { $0.count > $1.count }
    }

    func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets {
            result = result.replacingOccurrences(of: secret, with: Self.replacement)
        }
        return Self.scrubCredentialHeaders(result)
    }

    /// Masks the value after `Bearer`, `api-key:` and similar markers, whatever key it is.
    private static func scrubCredentialHeaders(_ text: String) -> String {
        let markers = ["bearer ", "api-key:", "api_key=", "x-goog-api-key:", "access_token="]
        var output = ""
        var remainder = Substring(text)
        while true {
            let hits = markers.compactMap { remainder.range(of: $0, options: .caseInsensitive) }
            guard let hit = hits.min(by: { $0.lowerBound < $1.lowerBound }) else {
                output += remainder
                return output
            }
            output += remainder[..<hit.upperBound]
            let afterMarker = remainder[hit.upperBound...]
            let spaces = afterMarker.prefix { $0 == " " }
            output += spaces
            let value = afterMarker[spaces.endIndex...].prefix { !$0.isWhitespace && !"\"',;}".contains($0) }
            output += value.isEmpty || value.hasPrefix(replacement) ? String(value) : replacement
            remainder = afterMarker[value.endIndex...]
        }
    }
}

/// The provider's `{"error": {"message", "type", "param", "code"}}` envelope, read tolerantly: LiteLLM and other
/// OpenAI-compatible servers also answer `{"error": "text"}`, `{"detail": "text"}` or plain text.
struct ProviderErrorBody: Sendable, Hashable {
    static let maxMessageCharacters = 300

    var message: String?
    var code: String?

    init(body: [UInt8], scrubber: SecretScrubber) {
        // Scrub before truncating, so a key cut in half at the limit cannot survive.
        let text = scrubber.scrub(String(decoding: body.prefix(64 << 10), as: UTF8.self))
        var message: String?
        var code: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            if let error = object["error"] as? [String: Any] {
                message = error["message"] as? String
                code = (error["code"] as? String) ?? (error["status"] as? String) ?? (error["type"] as? String)
            } else if let error = object["error"] as? String {
                // OAuth2 (RFC 6749 §5.2): `{"error": "invalid_grant", "error_description": "…"}`.
                message = (object["error_description"] as? String) ?? error
                code = error
            } else if let detail = object["detail"] as? String {
                message = detail
            } else if let text = object["message"] as? String {
                message = text
            }
        } else if text.contains("<Error>") {
            // S3: `<Error><Code>SlowDown</Code><Message>…</Message>…</Error>`.
            let error = S3XML.elements("Error", in: Substring(text)).first ?? Substring(text)
            message = S3XML.text("Message", in: error)
            code = S3XML.text("Code", in: error)
        } else if !text.isEmpty {
            message = text
        }
        // Scrubbed again after decoding: JSON escapes (`\/`, `\u00..`) could have hidden a key from the first pass.
        self.message = message.map { Self.truncate(scrubber.scrub($0).trimmingCharacters(in: .whitespacesAndNewlines)) }
        self.code = code.map { Self.truncate(scrubber.scrub($0)) }
    }

    static func truncate(_ text: String) -> String {
        let singleLine = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard singleLine.count > maxMessageCharacters else { return singleLine }
        return String(singleLine.prefix(maxMessageCharacters)) + "…"
    }
}
