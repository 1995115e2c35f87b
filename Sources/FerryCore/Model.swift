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

/// Where a secret comes from. Only the reference is ever stored or printed, never the value.
public enum CredentialReference: Hashable, Codable, Sendable, CustomStringConvertible {
    /// `os.environ/NAME` in the model list.
    case environment(String)
    /// A literal written in the model list; identified only by a short fingerprint of its value.
    case inline(fingerprint: String)
    /// No credential configured.
    case none

    public var description: String {
        switch self {
        case .environment(let name): return "env:\(name)"
        case .inline(let fingerprint): return "inline:\(fingerprint)"
        case .none: return "none"
        }
    }
}

/// A secret value held in memory only. Printing it never shows the value.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw value; read it only to put it on the wire.
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
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

/// Processing state of a remote file, as the provider reports it.
public enum RemoteFileStatus: String, Codable, Sendable, CaseIterable {
    case uploaded, pending, running, processed, error, deleting, deleted
    /// A value Ferry does not know; treated like `processed`.
    case unknown

    public init(providerValue: String?) {
        self = providerValue.flatMap(RemoteFileStatus.init(rawValue:)) ?? (providerValue == nil ? .processed : .unknown)
    }

    /// The file exists and is, or will become, usable.
    public var isUsable: Bool {
        switch self {
        case .uploaded, .pending, .running, .processed, .unknown: return true
        case .error, .deleting, .deleted: return false
        }
    }
}

/// One row of a provider's listing, as last seen.
public struct RemoteFile: Hashable, Codable, Sendable {
    /// The provider's file id (`file-…`, or `gs://bucket/object` for Vertex AI).
    public var id: String
    public var filename: String
    public var bytes: Int64
    public var purpose: String
    /// Unix seconds.
    public var createdAt: Int64
    public var status: RemoteFileStatus
    public var statusDetails: String?

    public init(
        id: String, filename: String, bytes: Int64, purpose: String, createdAt: Int64,
        status: RemoteFileStatus = .processed, statusDetails: String? = nil
    ) {
        self.id = id
        self.filename = filename
        self.bytes = bytes
        self.purpose = purpose
        self.createdAt = createdAt
        self.status = status
        self.statusDetails = statusDetails
    }
}
