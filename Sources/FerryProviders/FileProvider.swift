import FerryCore

/// What Ferry asks of one endpoint. One implementation per provider kind; the engine sees only this.
public protocol FileProvider: Sendable {
    /// The endpoint this client talks to.
    var endpoint: Endpoint { get }

    /// Every file the endpoint holds, following pagination to the end.
    /// - Throws: `ProviderError` once retries are exhausted or the failure is terminal.
    func list() async throws -> Listing

    /// Whether `list(splitAt:)` lists ranges of file ids at once (Cloud Storage's `startOffset`/`endOffset`).
    var listsIDRanges: Bool { get }

    /// What `list()` gives, listing the id ranges between `splitAt` (ids in any order, e.g. ones that cut the
    /// previous listing into equal parts) at once where the provider can; `list()` where it cannot.
    func list(splitAt ids: [String]) async throws -> Listing

    /// Uploads one file, streamed from disk (memory does not grow with the file's size).
    func create(_ upload: UploadRequest) async throws -> RemoteFile

    /// One file's current metadata.
    func retrieve(id: String) async throws -> RemoteFile

    /// Deletes one file. A file that is already gone (404) counts as deleted.
    func delete(id: String) async throws

    /// Streams a file's content into `destinationPath`; returns the number of bytes written.
    func content(id: String, to destinationPath: String) async throws -> Int64
}

extension FileProvider {
    public var listsIDRanges: Bool { false }

    public func list(splitAt ids: [String]) async throws -> Listing { try await list() }
}

/// A complete listing of one endpoint.
public struct Listing: Sendable, Hashable {
    public var files: [RemoteFile]
    /// Number of list requests that produced it (pages), for reporting.
    public var pages: Int

    public init(files: [RemoteFile], pages: Int) {
        self.files = files
        self.pages = pages
    }
}

/// One upload: a file on disk and how the provider should label it.
public struct UploadRequest: Sendable, Hashable {
    /// Absolute path of the source on disk.
    public var sourcePath: String
    /// The name the provider will show.
    public var filename: String
    public var purpose: String
    /// Size of the source in bytes, as hashed; the upload fails if the file changed size.
    public var bytes: Int64
    /// Ferry's own facts about the file, kept with it where the provider keeps custom metadata (Cloud Storage:
    /// `ferry-name`, the declared name, and `ferry-sha256`, the content's SHA-256), so a later run can prove the file
    /// is Ferry's upload of that content without downloading it (`ferry import`). Ignored by other providers.
    public var metadata: [String: String]
    /// Told how many of the file's bytes have been handed to the HTTP client (for progress lines); nil for none.
    public var progress: UploadProgress?
    /// Seconds after creation at which the provider should delete the file by itself (OpenAI and Azure
    /// `expires_after` with anchor `created_at`); nil keeps the provider's default. Ignored by other providers.
    public var expiresAfterSeconds: Int64?
    /// Computes the SHA-256 of the bytes the requests send, where the digest was not known before the upload
    /// (OpenAI, Azure, Anthropic, Gemini); nil for none. Clients that send the digest first (Cloud Storage, S3) ignore it.
    public var hasher: UploadHasher?

    public init(
        sourcePath: String, filename: String, purpose: String, bytes: Int64, metadata: [String: String] = [:],
        progress: UploadProgress? = nil, expiresAfterSeconds: Int64? = nil, hasher: UploadHasher? = nil
    ) {
        self.sourcePath = sourcePath
        self.filename = filename
        self.purpose = purpose
        self.bytes = bytes
        self.metadata = metadata
        self.progress = progress
        self.expiresAfterSeconds = expiresAfterSeconds
        self.hasher = hasher
    }
}
