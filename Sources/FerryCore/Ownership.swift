/// A remote file Ferry created (or adopted) for a placement, as recorded in the state store.
public struct OwnedFile: Hashable, Codable, Sendable {
    public var endpointID: String
    public var remoteID: String
    /// The desired file's name.
    public var file: String
    public var unifiedID: String
    /// SHA-256 of the content uploaded.
    public var digest: String
    public var bytes: Int64
    public var filename: String
    public var purpose: String
    /// Unix seconds, as the provider reported it.
    public var createdAt: Int64
    /// The policy in force when the file was last declared, so a removed declaration is handled as it asked.
    public var deletionPolicy: DeletionPolicy

    /// - Parameter unifiedID: `UnifiedID.make(for: file)` when the caller already has it (a file placed on three
    ///   endpoints has three owned rows); computed when nil.
    public init(
        endpointID: String, remoteID: String, file: String, digest: String, bytes: Int64, filename: String,
        purpose: String, createdAt: Int64, deletionPolicy: DeletionPolicy, unifiedID: String? = nil
    ) {
        self.endpointID = endpointID
        self.remoteID = remoteID
        self.file = file
        self.unifiedID = unifiedID ?? UnifiedID.make(for: file)
        self.digest = digest
        self.bytes = bytes
        self.filename = filename
        self.purpose = purpose
        self.createdAt = createdAt
        self.deletionPolicy = deletionPolicy
    }

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }
}

/// A write-ahead record of an upload about to be sent. If the process dies before the answer is recorded,
/// a later run finds the upload in the listing and adopts it instead of uploading again.
public struct CreateIntent: Hashable, Codable, Sendable {
    public var id: Int64
    public var endpointID: String
    public var file: String
    public var digest: String
    public var bytes: Int64
    public var filename: String
    public var purpose: String
    /// Unix seconds when the upload was about to start.
    public var startedAt: Int64
    public var deletionPolicy: DeletionPolicy

    public init(
        id: Int64, endpointID: String, file: String, digest: String, bytes: Int64, filename: String, purpose: String,
        startedAt: Int64, deletionPolicy: DeletionPolicy = .delete
    ) {
        self.id = id
        self.endpointID = endpointID
        self.file = file
        self.digest = digest
        self.bytes = bytes
        self.filename = filename
        self.purpose = purpose
        self.startedAt = startedAt
        self.deletionPolicy = deletionPolicy
    }

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }
}
