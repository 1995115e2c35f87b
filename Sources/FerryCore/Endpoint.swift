/// The kinds of provider Ferry can place files on.
public enum ProviderKind: String, Codable, Sendable, CaseIterable, Comparable {
    case openai
    case azure
    case vertex

    public static func < (lhs: ProviderKind, rhs: ProviderKind) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Purposes the provider accepts on upload; `nil` means any purpose is accepted.
    public var acceptedPurposes: Set<String>? {
        switch self {
        case .openai: return ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
        // Azure OpenAI's files API (2024-10-21 and later) accepts fewer purposes than OpenAI's.
        case .azure: return ["assistants", "batch", "fine-tune", "evals"]
        case .vertex: return nil
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
    /// Vertex AI: the Cloud Storage bucket and object prefix.
    public var bucket: String?
    public var credential: CredentialReference

    public init(
        kind: ProviderKind, baseURL: String, apiVersion: String? = nil, bucket: String? = nil,
        credential: CredentialReference
    ) {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.kind = kind
        self.baseURL = trimmed
        self.apiVersion = apiVersion
        self.bucket = bucket
        self.credential = credential
        var parts = [kind.rawValue, trimmed]
        if let bucket { parts.append("bucket=\(bucket)") }
        parts.append(credential.description)
        self.id = parts.joined(separator: "|")
    }

    /// Short human label for plans and logs.
    public var displayName: String {
        if let bucket { return "\(kind.rawValue) gs://\(bucket)" }
        return "\(kind.rawValue) \(baseURL) (\(credential))"
    }

    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool { lhs.id < rhs.id }
}
