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
    public var statusDetails: String?
    /// SHA-256 (hex) of the content, when the provider keeps Ferry's metadata with the file (Cloud Storage objects
    /// uploaded by Ferry carry `ferry-sha256`); nil otherwise.
    public var sha256: String?
    /// The declared file name Ferry uploaded this file for, from the same metadata (`ferry-name`); nil otherwise.
    public var declaredName: String?
    /// Unix seconds when the provider will delete the file by itself (Gemini's `expirationTime`, OpenAI and
    /// Azure's `expires_at`); nil when it keeps the file until it is deleted.
    public var expiresAt: Int64?
    // (Last: 128 bytes a file instead of 136; a pass over a large workspace holds 300,000.)
    public var status: RemoteFileStatus

    /// The custom-metadata key holding the declared name Ferry uploaded a file for.
    public static let declaredNameKey = "ferry-name"
    /// The custom-metadata key holding the SHA-256 (hex) of the content Ferry uploaded.
    public static let sha256Key = "ferry-sha256"

    public init(
        id: String, filename: String, bytes: Int64, purpose: String, createdAt: Int64,
        status: RemoteFileStatus = .processed, statusDetails: String? = nil, sha256: String? = nil,
        declaredName: String? = nil, expiresAt: Int64? = nil
    ) {
        self.id = id
        self.filename = filename
        self.bytes = bytes
        self.purpose = purpose
        self.createdAt = createdAt
        self.status = status
        self.statusDetails = statusDetails
        self.sha256 = sha256
        self.declaredName = declaredName
        self.expiresAt = expiresAt
    }
}
