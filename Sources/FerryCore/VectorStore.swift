/// How a vector store splits the files attached to it (OpenAI's `chunking_strategy`).
public enum ChunkingStrategy: Hashable, Codable, Sendable {
    /// The provider's default (OpenAI: 800 tokens, 400 overlap).
    case auto
    /// Fixed-size chunks: 100–4096 tokens, an overlap of at most half of that.
    case fixed(maxChunkSizeTokens: Int, chunkOverlapTokens: Int)

    private enum CodingKeys: String, CodingKey { case type, maxChunkSizeTokens, chunkOverlapTokens }

    /// `{type: auto}` or `{type: static, maxChunkSizeTokens, chunkOverlapTokens}`: one flat object, as manifests
    /// write it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decode(String.self, forKey: .type) == "static" {
            self = .fixed(
                maxChunkSizeTokens: try container.decode(Int.self, forKey: .maxChunkSizeTokens),
                chunkOverlapTokens: try container.decode(Int.self, forKey: .chunkOverlapTokens))
        } else {
            self = .auto
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .auto: try container.encode("auto", forKey: .type)
        case .fixed(let size, let overlap):
            try container.encode("static", forKey: .type)
            try container.encode(size, forKey: .maxChunkSizeTokens)
            try container.encode(overlap, forKey: .chunkOverlapTokens)
        }
    }

    /// `auto`, or `static 800/400`, for plan lines.
    public var summary: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let size, let overlap): return "static \(size)/\(overlap)"
        }
    }
}

/// One declared vector store (`kind: VectorStore`): a store Ferry creates once on each endpoint its models resolve
/// to, owns (its `metadata` carries `ferry-vector-store: <name>`), and keeps attached to exactly the declared files.
public struct DesiredVectorStore: Hashable, Codable, Sendable {
    /// `metadata.name`: unique among vector stores; the ownership mark.
    public var name: String
    /// The store's `name` on the provider (`spec.displayName`, else `name`).
    public var displayName: String
    /// `model_name`s whose endpoints hold the store, sorted and unique.
    public var targetModels: [String]
    /// Declared file names attached to the store (explicit `spec.files` plus `spec.selector` matches), sorted.
    public var files: [String]
    /// `spec.expiresAfterDays`: the provider expires the store after this many days without use; nil for never.
    public var expiresAfterDays: Int?
    /// How new attachments are chunked; existing attachments keep the strategy they were made with.
    public var chunking: ChunkingStrategy
    /// `spec.metadata`: extra key/value pairs kept on the store (besides Ferry's mark).
    public var metadata: [String: String]
    /// `path:line` of the declaration.
    public var origin: String

    public init(
        name: String, displayName: String? = nil, targetModels: [String], files: [String],
        expiresAfterDays: Int? = nil, chunking: ChunkingStrategy = .auto, metadata: [String: String] = [:],
        origin: String = ""
    ) {
        self.name = name
        self.displayName = displayName ?? name
        self.targetModels = Array(Set(targetModels)).sorted()
        self.files = Array(Set(files)).sorted()
        self.expiresAfterDays = expiresAfterDays
        self.chunking = chunking
        self.metadata = metadata
        self.origin = origin
    }

    /// The metadata the provider's copy must carry: the user's pairs plus Ferry's ownership mark.
    public var providerMetadata: [String: String] {
        metadata.merging([RemoteVectorStore.ownerKey: name]) { _, ferry in ferry }
    }
}

/// Processing state of a file attached to a vector store (OpenAI's `vector_store.file` status).
public enum AttachmentStatus: String, Codable, Sendable, CaseIterable {
    case inProgress = "in_progress"
    case completed, failed, cancelled
}

/// A file attached to a vector store, as last listed.
public struct RemoteAttachment: Hashable, Codable, Sendable {
    /// The attached file's id (`file-…`): attachments are named by the file they hold.
    public var fileID: String
    public var status: AttachmentStatus
    /// `last_error`: `code: message`, when the provider reports one.
    public var lastError: String?
    /// Unix seconds.
    public var createdAt: Int64

    public init(fileID: String, status: AttachmentStatus, lastError: String? = nil, createdAt: Int64 = 0) {
        self.fileID = fileID
        self.status = status
        self.lastError = lastError
        self.createdAt = createdAt
    }
}

/// A vector store on an endpoint, as last listed (only stores carrying Ferry's mark have their files listed).
public struct RemoteVectorStore: Hashable, Codable, Sendable {
    /// The metadata key that marks a store as Ferry's; its value is the declared name.
    public static let ownerKey = "ferry-vector-store"

    public var id: String
    public var name: String
    /// `in_progress`, `completed` or `expired`, as the provider says.
    public var status: String
    /// Unix seconds.
    public var createdAt: Int64
    public var usageBytes: Int64
    /// `expires_after.days` (anchor `last_active_at`); nil when the store never expires.
    public var expiresAfterDays: Int?
    /// When the store expires unless used before: it moves with every use. Unix seconds.
    public var expiresAt: Int64?
    public var lastActiveAt: Int64?
    public var metadata: [String: String]
    /// The store's files; nil when they were not listed (a store Ferry does not own).
    public var attachments: [RemoteAttachment]?

    public init(
        id: String, name: String, status: String, createdAt: Int64, usageBytes: Int64 = 0,
        expiresAfterDays: Int? = nil, expiresAt: Int64? = nil, lastActiveAt: Int64? = nil,
        metadata: [String: String] = [:], attachments: [RemoteAttachment]? = nil
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.createdAt = createdAt
        self.usageBytes = usageBytes
        self.expiresAfterDays = expiresAfterDays
        self.expiresAt = expiresAt
        self.lastActiveAt = lastActiveAt
        self.metadata = metadata
        self.attachments = attachments
    }

    /// The declared name when the store carries Ferry's mark.
    public var declaredName: String? { metadata[Self.ownerKey] }
}

/// One endpoint's vector stores as last listed, or why they could not be.
public struct VectorStoreObservation: Hashable, Codable, Sendable {
    public var endpointID: String
    /// nil when the listing failed.
    public var stores: [RemoteVectorStore]?
    public var error: String?
    /// Unix seconds.
    public var observedAt: Int64

    public init(endpointID: String, stores: [RemoteVectorStore]?, error: String? = nil, observedAt: Int64) {
        self.endpointID = endpointID
        self.stores = stores
        self.error = error
        self.observedAt = observedAt
    }
}

/// What the planner decided for one vector store or one of its attachments.
public struct VectorStoreAction: Hashable, Codable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Create the store (with Ferry's mark), then attach its files.
        case createStore = "create-store"
        /// Change the store's name, expiry or metadata.
        case updateStore = "update-store"
        /// Attach a file; awaited until the provider reports it `completed` (or `failed`).
        case attach
        /// Detach a file (the file itself stays: detach is not delete). Runs after the attaches it gives way to.
        case detach
        /// Delete a store Ferry owns whose declaration is gone, or a duplicate of one.
        case deleteStore = "delete-store"

        var order: Int { Kind.allCases.firstIndex(of: self)! }
    }

    public enum Reason: String, Codable, Sendable {
        /// Not on the endpoint yet.
        case new
        /// Its settings differ from the declaration.
        case changed
        /// A file's new content: the new file is attached before the old one is detached.
        case replaced
        /// The file is no longer declared in the store (or not at all).
        case removed
        /// The store's declaration is gone.
        case pruned
        /// A second store with the same mark (e.g. a create retried after a lost answer).
        case duplicate
    }

    public var kind: Kind
    public var reason: Reason
    /// The declared store.
    public var store: String
    public var endpointID: String
    /// The store's id; nil for a store this plan creates.
    public var storeID: String?
    /// The declared file attached or detached, when known.
    public var file: String?
    /// The file id to attach or detach; nil for an attach of a file this plan uploads (known once it is uploaded).
    public var fileID: String?
    /// For create-store and update-store: the settings to send.
    public var displayName: String?
    public var expiresAfterDays: Int?
    public var metadata: [String: String]?
    /// For attach: how to chunk the file.
    public var chunking: ChunkingStrategy?

    public init(
        kind: Kind, reason: Reason, store: String, endpointID: String, storeID: String? = nil, file: String? = nil,
        fileID: String? = nil, displayName: String? = nil, expiresAfterDays: Int? = nil,
        metadata: [String: String]? = nil, chunking: ChunkingStrategy? = nil
    ) {
        self.kind = kind
        self.reason = reason
        self.store = store
        self.endpointID = endpointID
        self.storeID = storeID
        self.file = file
        self.fileID = fileID
        self.displayName = displayName
        self.expiresAfterDays = expiresAfterDays
        self.metadata = metadata
        self.chunking = chunking
    }

    static func sortKey(_ a: VectorStoreAction, _ b: VectorStoreAction) -> Bool {
        (a.store, a.endpointID, a.kind.order, a.storeID ?? "", a.file ?? "", a.fileID ?? "")
            < (b.store, b.endpointID, b.kind.order, b.storeID ?? "", b.file ?? "", b.fileID ?? "")
    }
}

/// Where one declared vector store stands on one endpoint (or an owned store no longer declared).
public struct VectorStoreStatus: Hashable, Codable, Sendable {
    public enum State: String, Codable, Sendable {
        case inSync = "in-sync"
        case outOfSync = "out-of-sync"
        /// Attached, but the provider is still processing some files.
        case processing
        /// Some attachment failed (see `attachments[].lastError`).
        case failed
        /// The endpoint's stores could not be listed.
        case unknown
    }

    /// One declared (or attached) file of the store.
    public struct Attachment: Hashable, Codable, Sendable {
        /// The declared file; nil for an attached file Ferry does not know.
        public var file: String?
        /// The attached file id; nil while the file waits for its upload.
        public var fileID: String?
        /// The provider's attachment status; nil when not attached.
        public var status: AttachmentStatus?
        public var lastError: String?

        public init(file: String?, fileID: String?, status: AttachmentStatus?, lastError: String? = nil) {
            self.file = file
            self.fileID = fileID
            self.status = status
            self.lastError = lastError
        }
    }

    public var store: String
    public var endpointID: String
    public var storeID: String?
    public var state: State
    /// The provider's store status (`in_progress`, `completed`, `expired`).
    public var providerStatus: String?
    public var usageBytes: Int64?
    public var expiresAfterDays: Int?
    /// When the store expires unless used (inactivity expiry: it moves with use). Unix seconds.
    public var expiresAt: Int64?
    public var lastActiveAt: Int64?
    public var attachments: [Attachment]
    public var detail: String?

    public init(
        store: String, endpointID: String, storeID: String? = nil, state: State, providerStatus: String? = nil,
        usageBytes: Int64? = nil, expiresAfterDays: Int? = nil, expiresAt: Int64? = nil, lastActiveAt: Int64? = nil,
        attachments: [Attachment] = [], detail: String? = nil
    ) {
        self.store = store
        self.endpointID = endpointID
        self.storeID = storeID
        self.state = state
        self.providerStatus = providerStatus
        self.usageBytes = usageBytes
        self.expiresAfterDays = expiresAfterDays
        self.expiresAt = expiresAt
        self.lastActiveAt = lastActiveAt
        self.attachments = attachments
        self.detail = detail
    }
}

extension DesiredState {
    /// Endpoints a vector store lives on: one per endpoint its target models resolve to, sorted.
    public func endpoints(of store: DesiredVectorStore) -> [Endpoint] {
        var seen = Set<String>()
        return store.targetModels.flatMap { endpoints(forModel: $0) }.filter { seen.insert($0.id).inserted }.sorted()
    }
}
