import Logging

/// Which provider's wire format a tenant (and a request) speaks.
public enum SimulatorFlavor: String, Sendable, Codable, CaseIterable {
    /// OpenAI (`/v1/files`, `Authorization: Bearer KEY`).
    case openai
    /// Azure OpenAI (`/openai/files?api-version=…`, `api-key: KEY` or bearer).
    case azure
    /// Google Cloud Storage JSON API (Vertex AI files): objects live in buckets shared by every credential,
    /// so key-based methods (`files(apiKey:flavor:)`) never see them; use `Simulator.objects(bucket:)`.
    case gcs
    /// Anthropic Files API (beta), under the path prefix `/anthropic` so it shares the port with OpenAI's
    /// `/v1/files`: `/anthropic/v1/files…`, `x-api-key: KEY`, `anthropic-version` and the Files beta header.
    case anthropic
    /// Gemini API files, under the path prefix `/gemini` (`/gemini/upload/v1beta/files`, `/gemini/v1beta/files…`),
    /// `x-goog-api-key: KEY`; resumable uploads, `PROCESSING` → `ACTIVE`, and files that expire.
    case gemini
}

/// What the simulator keeps of the bytes a Files API create (`POST /v1/files`, `POST /openai/files`) sends.
public enum SimulatorContentMode: String, Sendable, Codable, CaseIterable {
    /// Keep every byte (in memory, or in `storageDirectory`), so content downloads answer them.
    case keep
    /// Read, count and drop the bytes (benchmarks): the file's metadata (size, name, purpose) is kept and listed as
    /// usual, its content download answers 410 and its `SimulatedFile.sha256` is empty. The server then costs the
    /// same for every client, so a benchmark measures the client. Upload parts and Cloud Storage objects are kept.
    case discard
}

/// How a `Simulator` is set up.
public struct SimulatorConfiguration: Sendable {
    /// Address to bind. Keep the default: the simulator is meant for loopback only.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (read it from `Simulator.listeningPort()` or `Simulator.port`).
    public var port: Int = 0
    /// nil keeps file bytes in memory. Otherwise bytes and metadata are persisted in this folder
    /// (created if missing) and reloaded by `run()`.
    public var storageDirectory: String?
    /// Faults to inject; replace at run time with `Simulator.setFaults(_:)` or `PUT /_sim/faults`.
    public var faults: FaultPlan = .none
    /// Largest accepted file (`POST …/files`); larger uploads answer 413.
    public var maxUploadBytes: Int64 = 512 * 1024 * 1024
    /// Files report `uploaded` (OpenAI) / `pending` (Azure) until this long after creation, then `processed`.
    public var processingDelay: Duration = .zero
    /// A file attached to a vector store is `in_progress` this long, then `completed` (or `failed` for a type file
    /// search does not index).
    public var attachmentDelay: Duration = .milliseconds(300)
    /// When true, `GET /v1/files/{id}/content` refuses purpose `assistants` with 400, like OpenAI does.
    /// Off by default so tests can read back what they uploaded.
    public var restrictDownloads: Bool = false
    /// Log level of the embedded HTTP server (Hummingbird logs every start at `.info`).
    public var logLevel: Logger.Level = .warning
    /// What the Cloud Storage routes accept as credentials (the token endpoint itself needs none).
    public var gcsAuthentication: GCSAuthentication = .issuedTokens
    /// `.discard` keeps no bytes of Files API creates (see `SimulatorContentMode`); meant for in-memory benchmarks.
    public var content: SimulatorContentMode = .keep
    /// S3 key pairs the S3 flavor accepts (access key id → secret access key): requests must be SigV4-signed with
    /// one of them (`Simulator.addS3Credential` adds more at run time).
    public var s3Credentials: [String: String] = SimulatorConfiguration.defaultS3Credentials
    /// The key pair `s3Credentials` holds by default.
    public static let defaultS3Credentials = ["AKIAFERRYSIMULATOR01": "ferry-simulator-secret-access-key/0123456789"]
    /// How long a Gemini file lives: `expirationTime` is `createTime` plus this, and then the file is gone (403,
    /// absent from listings). Gemini's is 48 hours; tests use seconds. (Gemini files are `PROCESSING` for
    /// `processingDelay`, then `ACTIVE`.)
    public var geminiFileLifetime: Duration = .seconds(48 * 3600)

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        storageDirectory: String? = nil,
        faults: FaultPlan = .none,
        maxUploadBytes: Int64 = 512 * 1024 * 1024,
        processingDelay: Duration = .zero,
        restrictDownloads: Bool = false,
        logLevel: Logger.Level = .warning,
        gcsAuthentication: GCSAuthentication = .issuedTokens,
        content: SimulatorContentMode = .keep,
        geminiFileLifetime: Duration = .seconds(48 * 3600)
    ) {
        self.host = host
        self.port = port
        self.storageDirectory = storageDirectory
        self.faults = faults
        self.maxUploadBytes = maxUploadBytes
        self.processingDelay = processingDelay
        self.restrictDownloads = restrictDownloads
        self.logLevel = logLevel
        self.gcsAuthentication = gcsAuthentication
        self.content = content
        self.geminiFileLifetime = geminiFileLifetime
    }
}

/// Faults injected into provider requests (never into `/_sim/…` admin requests).
///
/// Decoding is lenient: every key is optional and missing keys keep their defaults, so
/// `{"errorRate":{"create":1}}` is a valid plan.
public struct FaultPlan: Sendable, Codable, Equatable {
    /// No faults at all.
    public static let none = FaultPlan()

    /// Seeds the random choices (which request fails, which status) so a run is reproducible
    /// for the same sequence of requests. nil uses the system generator.
    public var seed: UInt64?
    /// Probability (0…1) of answering an injected error, per operation key:
    /// `list`, `create`, `retrieve`, `delete`, `content`, `upload_create`, `upload_part`,
    /// `upload_complete`, `upload_cancel`, the Cloud Storage keys `gcs.list`, `gcs.upload`, `gcs.resumable`,
    /// `gcs.get`, `gcs.download`, `gcs.delete`, `gcs.bucket`, the S3 keys `s3.list`, `s3.put`, `s3.head`, `s3.get`,
    /// `s3.delete`, `s3.bucket`, `s3.multipart` (start, complete, abort), `s3.part`, the token endpoint's `token`, or `*` for any
    /// operation without its own entry.
    public var errorRate: [String: Double]
    /// Statuses an injected error is drawn from (uniformly). 429 and 503 carry `Retry-After`.
    public var errorStatuses: [Int]
    /// `Retry-After` value (seconds) on injected 429 and 503 answers.
    public var retryAfterSeconds: Int
    /// Delay added before every provider request is handled.
    public var latencyMilliseconds: Int
    /// Probability that a successful create (or upload completion, or Cloud Storage upload) stores the file and
    /// then answers 500 anyway.
    public var acceptThenFailRate: Double
    /// Files younger than this are left out of listings (retrieve by id still finds them).
    public var listLagSeconds: Double
    /// Probability of closing the connection without any answer (checked before the request body is read).
    public var resetConnectionRate: Double
    /// When true, every error answer of a provider route (injected faults, accept-then-fail, and the handlers'
    /// own 4xx) echoes the request's headers, `Authorization` and `api-key` included, in its message and in a
    /// `request_headers` member, as some providers and proxies do. A test of credential scrubbing.
    public var echoRequestHeaders: Bool
    /// Statuses answered, in order, to the next requests of an operation (keys as in `errorRate`): each request
    /// takes the first status left (and removes it) before `errorRate` is drawn, e.g. `{"gcs.upload": [503, 500]}`
    /// fails the next two Cloud Storage uploads, then lets them through.
    public var failNext: [String: [Int]]
    /// Byte counts, one per chunk, for the next Cloud Storage resumable data chunks: such a chunk is read in full but
    /// keeps only its first N bytes (rounded down to a multiple of 256 KiB, as after a broken connection), and
    /// answers 503. A client must ask the session what it kept and resume from there.
    public var truncateNextChunks: [Int64]
    /// Every Cloud Storage listing begins with an empty page whose `nextPageToken` points at the first entry, as
    /// Cloud Storage may answer when it skips many deleted objects.
    public var gcsEmptyFirstPage: Bool
    /// Every Cloud Storage list page answers the same `nextPageToken` (one pointing at the first entry): a server
    /// that never advances.
    public var gcsStuckPageToken: Bool
    /// Cloud Storage listings ignore `startOffset` and `endOffset` (as an emulator may): a client that lists
    /// name ranges at once gets every object in every range.
    public var gcsIgnoreOffsets: Bool

    public init(
        seed: UInt64? = nil,
        errorRate: [String: Double] = [:],
        errorStatuses: [Int] = [500, 502, 503],
        retryAfterSeconds: Int = 1,
        latencyMilliseconds: Int = 0,
        acceptThenFailRate: Double = 0,
        listLagSeconds: Double = 0,
        resetConnectionRate: Double = 0,
        echoRequestHeaders: Bool = false,
        failNext: [String: [Int]] = [:],
        truncateNextChunks: [Int64] = [],
        gcsEmptyFirstPage: Bool = false,
        gcsStuckPageToken: Bool = false,
        gcsIgnoreOffsets: Bool = false
    ) {
        self.seed = seed
        self.errorRate = errorRate
        self.errorStatuses = errorStatuses
        self.retryAfterSeconds = retryAfterSeconds
        self.latencyMilliseconds = latencyMilliseconds
        self.acceptThenFailRate = acceptThenFailRate
        self.listLagSeconds = listLagSeconds
        self.resetConnectionRate = resetConnectionRate
        self.echoRequestHeaders = echoRequestHeaders
        self.failNext = failNext
        self.truncateNextChunks = truncateNextChunks
        self.gcsEmptyFirstPage = gcsEmptyFirstPage
        self.gcsStuckPageToken = gcsStuckPageToken
        self.gcsIgnoreOffsets = gcsIgnoreOffsets
    }

    private enum CodingKeys: String, CodingKey {
        case seed, errorRate, errorStatuses, retryAfterSeconds, latencyMilliseconds
        case acceptThenFailRate, listLagSeconds, resetConnectionRate, echoRequestHeaders
        case failNext, truncateNextChunks, gcsEmptyFirstPage, gcsStuckPageToken, gcsIgnoreOffsets
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = FaultPlan()
        self.seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        self.errorRate = try c.decodeIfPresent([String: Double].self, forKey: .errorRate) ?? defaults.errorRate
        self.errorStatuses = try c.decodeIfPresent([Int].self, forKey: .errorStatuses) ?? defaults.errorStatuses
        self.retryAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? defaults.retryAfterSeconds
        self.latencyMilliseconds = try c.decodeIfPresent(Int.self, forKey: .latencyMilliseconds) ?? defaults.latencyMilliseconds
        self.acceptThenFailRate = try c.decodeIfPresent(Double.self, forKey: .acceptThenFailRate) ?? defaults.acceptThenFailRate
        self.listLagSeconds = try c.decodeIfPresent(Double.self, forKey: .listLagSeconds) ?? defaults.listLagSeconds
        self.resetConnectionRate = try c.decodeIfPresent(Double.self, forKey: .resetConnectionRate) ?? defaults.resetConnectionRate
        self.echoRequestHeaders = try c.decodeIfPresent(Bool.self, forKey: .echoRequestHeaders) ?? defaults.echoRequestHeaders
        self.failNext = try c.decodeIfPresent([String: [Int]].self, forKey: .failNext) ?? defaults.failNext
        self.truncateNextChunks =
            try c.decodeIfPresent([Int64].self, forKey: .truncateNextChunks) ?? defaults.truncateNextChunks
        self.gcsEmptyFirstPage = try c.decodeIfPresent(Bool.self, forKey: .gcsEmptyFirstPage) ?? defaults.gcsEmptyFirstPage
        self.gcsStuckPageToken = try c.decodeIfPresent(Bool.self, forKey: .gcsStuckPageToken) ?? defaults.gcsStuckPageToken
        self.gcsIgnoreOffsets = try c.decodeIfPresent(Bool.self, forKey: .gcsIgnoreOffsets) ?? defaults.gcsIgnoreOffsets
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(errorRate, forKey: .errorRate)
        try c.encode(errorStatuses, forKey: .errorStatuses)
        try c.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
        try c.encode(latencyMilliseconds, forKey: .latencyMilliseconds)
        try c.encode(acceptThenFailRate, forKey: .acceptThenFailRate)
        try c.encode(listLagSeconds, forKey: .listLagSeconds)
        try c.encode(resetConnectionRate, forKey: .resetConnectionRate)
        try c.encode(echoRequestHeaders, forKey: .echoRequestHeaders)
        try c.encode(failNext, forKey: .failNext)
        try c.encode(truncateNextChunks, forKey: .truncateNextChunks)
        try c.encode(gcsEmptyFirstPage, forKey: .gcsEmptyFirstPage)
        try c.encode(gcsStuckPageToken, forKey: .gcsStuckPageToken)
        try c.encode(gcsIgnoreOffsets, forKey: .gcsIgnoreOffsets)
    }

    /// Checks ranges; returns a message naming the first bad field, or nil.
    public func validationError() -> String? {
        for (key, rate) in errorRate.sorted(by: { $0.key < $1.key }) {
            if !FaultPlan.operationKeys.contains(key) && key != "*" {
                return "errorRate: unknown operation key '\(key)' (use one of \(FaultPlan.operationKeys.joined(separator: ", ")) or *)"
            }
            if !(0...1).contains(rate) { return "errorRate[\(key)] must be between 0 and 1" }
        }
        for status in errorStatuses where !(400...599).contains(status) {
            return "errorStatuses: \(status) is not an HTTP error status (400-599)"
        }
        if retryAfterSeconds < 0 { return "retryAfterSeconds must not be negative" }
        if latencyMilliseconds < 0 { return "latencyMilliseconds must not be negative" }
        if !(0...1).contains(acceptThenFailRate) { return "acceptThenFailRate must be between 0 and 1" }
        if listLagSeconds < 0 || !listLagSeconds.isFinite { return "listLagSeconds must be a non-negative number" }
        if !(0...1).contains(resetConnectionRate) { return "resetConnectionRate must be between 0 and 1" }
        for (key, statuses) in failNext.sorted(by: { $0.key < $1.key }) {
            if !FaultPlan.operationKeys.contains(key) {
                return "failNext: unknown operation key '\(key)' (use one of \(FaultPlan.operationKeys.joined(separator: ", ")))"
            }
            for status in statuses where !(400...599).contains(status) {
                return "failNext[\(key)]: \(status) is not an HTTP error status (400-599)"
            }
        }
        if truncateNextChunks.contains(where: { $0 < 0 }) { return "truncateNextChunks must not be negative" }
        return nil
    }

    /// The operation keys `errorRate` understands (besides `*`).
    public static let operationKeys: [String] = [
        "list", "create", "retrieve", "delete", "content",
        "upload_create", "upload_part", "upload_complete", "upload_cancel",
        "gcs.list", "gcs.upload", "gcs.resumable", "gcs.get", "gcs.download", "gcs.delete", "gcs.bucket", "token",
    ]

    func errorRate(for operation: String) -> Double {
        errorRate[operation] ?? errorRate["*"] ?? 0
    }
}

/// Metadata of one simulated file, as the simulator holds it.
public struct SimulatedFile: Sendable, Codable, Equatable {
    public var id: String
    public var filename: String
    public var bytes: Int64
    public var purpose: String
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds, or nil when the file never expires.
    public var expiresAt: Int64?
    /// Status at the time this value was made (`uploaded`/`pending` while processing, then `processed`).
    public var status: String
    /// Lowercase hex SHA-256 of the content.
    public var sha256: String
    public var flavor: SimulatorFlavor
}

/// Request and fault counters. Admin (`/_sim/…`) requests are never counted.
public struct SimulatorStats: Sendable, Codable, Equatable {
    /// Requests per route key, e.g. `"GET /v1/files": 3`, `"POST /openai/files": 1`.
    public var requests: [String: Int] = [:]
    /// Sum of `requests`.
    public var total: Int = 0
    /// Answers per HTTP status (as a string, e.g. `"200"`), injected ones included. Resets have none.
    public var responses: [String: Int] = [:]
    /// Injected error answers (from `errorRate`), total and per status.
    public var injectedErrors: Int = 0
    public var injectedErrorsByStatus: [String: Int] = [:]
    /// Creates that stored the file and then answered 500 (`acceptThenFailRate`).
    public var acceptedThenFailed: Int = 0
    /// Connections closed without an answer (`resetConnectionRate`).
    public var connectionResets: Int = 0
    /// injectedErrors + acceptedThenFailed + connectionResets.
    public var injectedFaults: Int = 0
    /// Content bytes stored by creates/upload parts, and served by content downloads.
    public var bytesUploaded: Int64 = 0
    public var bytesDownloaded: Int64 = 0

    public init() {}
}
