/// The kinds of provider Ferry can place files on.
public enum ProviderKind: String, Codable, Sendable, CaseIterable, Comparable {
    case openai
    case azure
    case vertex
    /// Anthropic's Files API (beta): `{base}/v1/files`, `x-api-key`.
    case anthropic
    /// AWS Bedrock batch files: objects in an S3 bucket (LiteLLM's `bedrock` files), SigV4-signed.
    case bedrock
    /// Google's Gemini API files: `{base}/upload/v1beta/files` (resumable) and `{base}/v1beta/files`,
    /// `x-goog-api-key`. Files expire 48 hours after upload.
    case gemini

    public static func < (lhs: ProviderKind, rhs: ProviderKind) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Providers whose files Ferry manages, by LiteLLM provider name (the prefix of `litellm_params.model`, or
    /// `custom_llm_provider`).
    public static let byLiteLLMProvider: [String: ProviderKind] = [
        "openai": .openai, "text-completion-openai": .openai, "azure": .azure, "azure_text": .azure,
        "vertex_ai": .vertex, "vertex_ai_beta": .vertex, "anthropic": .anthropic,
        "bedrock": .bedrock,
        "gemini": .gemini,
    ]

    /// Purposes the provider accepts on upload; `nil` means any purpose is accepted.
    public var acceptedPurposes: Set<String>? {
        switch self {
        case .openai: return ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
        // Azure OpenAI's files API (2024-10-21 and later) accepts fewer purposes than OpenAI's.
        case .azure: return ["assistants", "batch", "fine-tune", "evals"]
        case .vertex: return nil
        // Anthropic files have no purpose at all: whatever a declaration says is never sent there.
        case .anthropic: return nil
        // S3 objects carry no purpose of their own; Ferry keeps it in the object key.
        case .bedrock: return nil
        // Gemini files have no purpose either.
        case .gemini: return nil
        }
    }

    /// Whether the provider keeps a file's purpose (on the file, or in metadata Ferry writes). Where it does not
    /// (Anthropic), a placement's purpose is empty: the declared one is not sent, recorded or compared, so
    /// changing it re-uploads nothing there. Gemini keeps none either.
    public var keepsPurpose: Bool { self != .anthropic && self != .gemini }

    /// The default base URL of a provider's files API, when one is implied (`nil`: it must be configured).
    public var defaultBaseURL: String? {
        switch self {
        case .openai: return "https://api.openai.com/v1"
        case .anthropic: return "https://api.anthropic.com"
        case .gemini: return "https://generativelanguage.googleapis.com"
        case .azure, .vertex, .bedrock: return nil
        }
    }
}

/// Where files physically live: provider kind, base URL and account. Several models can share one endpoint.
public struct Endpoint: Hashable, Codable, Sendable, Comparable {
    /// Stable key, e.g. `openai|https://api.openai.com/v1|env:OPENAI_API_KEY`. Contains no secret.
    public var id: String
    public var kind: ProviderKind
    /// Base URL without a trailing slash. OpenAI: `https://api.openai.com/v1`; Azure: the resource endpoint.
    public var baseURL: String
    /// Azure `api-version`.
    public var apiVersion: String?
    /// Vertex AI: the Cloud Storage bucket and object prefix. Bedrock: the S3 bucket and object prefix.
    public var bucket: String?
    /// Bedrock: the AWS region requests are signed for (`us-west-2`).
    public var region: String?
    public var credential: CredentialReference

    public init(
        kind: ProviderKind, baseURL: String, apiVersion: String? = nil, bucket: String? = nil, region: String? = nil,
        credential: CredentialReference
    ) {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.kind = kind
        self.baseURL = trimmed
        self.apiVersion = apiVersion
        self.bucket = bucket
        self.region = region
        self.credential = credential
        var parts = [kind.rawValue, trimmed]
        if let bucket { parts.append("bucket=\(bucket)") }
        if let region { parts.append("region=\(region)") }
        parts.append(credential.description)
        self.id = parts.joined(separator: "|")
    }

    /// Short human label for plans and logs.
    public var displayName: String {
        if let bucket { return "\(kind.rawValue) \(kind == .bedrock ? "s3" : "gs")://\(bucket)" }
        return "\(kind.rawValue) \(baseURL) (\(credential))"
    }

    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool { lhs.id < rhs.id }

    /// A `gcs_bucket_name` setting as Ferry uses it: without `gs://` or trailing slashes, and with Ferry's own
    /// object prefix (`ferry`) when the setting names only a bucket. `my-bucket` → `my-bucket/ferry`.
    public static func bucketSetting(_ text: String) -> String {
        var setting = text.hasPrefix("gs://") ? String(text.dropFirst(5)) : text
        while setting.hasSuffix("/") { setting.removeLast() }
        if !setting.contains("/") { setting += "/ferry" }
        return setting
    }

    /// An Anthropic `api_base` as Ferry keeps it: the API's root, without a trailing `/v1` (LiteLLM users write
    /// either), since the client appends `/v1/files`. `https://api.anthropic.com/v1/` → `https://api.anthropic.com`.
    public static func anthropicBase(_ text: String) -> String {
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return base
    }

    /// A Gemini `api_base` as Ferry keeps it: the host root, without a trailing `/v1beta` (the client appends
    /// `/v1beta/files` and `/upload/v1beta/files`). `https://generativelanguage.googleapis.com/v1beta/` → the root.
    public static func geminiBase(_ text: String) -> String {
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1beta") { base.removeLast(7) }
        return base
    }

    /// The provider kind, base URL and bucket an endpoint id (`id`) was made of; nil for a string that is not one.
    /// The credential part is left out: it names where a secret comes from, not where files live.
    public static func location(ofID id: String) -> (kind: ProviderKind, baseURL: String, bucket: String?)? {
        let parts = id.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 3, let kind = ProviderKind(rawValue: String(parts[0])) else { return nil }
        let bucket = parts.dropFirst(2).first { $0.hasPrefix("bucket=") }.map { String($0.dropFirst("bucket=".count)) }
        return (kind, String(parts[1]), bucket)
    }
}
