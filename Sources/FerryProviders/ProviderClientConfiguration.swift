import FerryCore
import AsyncHTTPClient
import NIOCore

/// Knobs shared by every provider client. The defaults suit a real provider; tests shrink them.
public struct ProviderClientConfiguration: Sendable {
    /// Files per list request (OpenAI accepts 1–10,000).
    public var pageSize: Int
    /// A bound on list requests per listing, so a provider handing out endless fresh cursors cannot hold a run.
    public var maxListPages: Int
    /// How retryable failures are repeated.
    public var retry: RetryPolicy
    /// Requests in flight at once against this endpoint (retries and pauses hold no slot).
    public var maxConcurrentRequests: Int
    /// Time to establish a connection (used by `makeHTTPClientConfiguration()`).
    public var connectTimeout: Duration
    /// Longest silence while reading a response (used by `makeHTTPClientConfiguration()`).
    public var readTimeout: Duration
    /// Deadline for one request until its response head arrives.
    public var requestTimeout: Duration
    /// The slowest upload rate tolerated: an upload's deadline is `requestTimeout + bytes / this`.
    public var minimumUploadBytesPerSecond: Int64
    /// Largest JSON response read into memory (a 10,000-file page is a few megabytes).
    public var maxResponseBytes: Int
    /// Files larger than this go through OpenAI's Uploads API in parts (OpenAI flavor only; the Files API
    /// accepts at most 512 MB). `nil` always uses a single Files API request.
    public var largeFileThreshold: Int64?
    /// Size of one Uploads API part (OpenAI allows at most 64 MB; read as 64,000,000 bytes to be safe).
    public var uploadPartBytes: Int64
    /// Parts of one upload sent at once (each also takes a `maxConcurrentRequests` slot).
    public var uploadPartConcurrency: Int
    /// Time for `Retry-After` dates and the pauses between retries; tests inject one that records instead of
    /// sleeping.
    public var clock: FerryClock
    /// Sent as `User-Agent`.
    public var userAgent: String
    /// Most requests started per minute against this endpoint, retries included (LiteLLM's `rpm`); nil for no
    /// limit. A request over the limit waits, holding no concurrency slot.
    public var requestsPerMinute: Int?

    public init(
        pageSize: Int = 10_000,
        maxListPages: Int = 10_000,
        retry: RetryPolicy = RetryPolicy(),
        maxConcurrentRequests: Int = 8,
        connectTimeout: Duration = .seconds(10),
        readTimeout: Duration = .seconds(120),
        requestTimeout: Duration = .seconds(120),
        minimumUploadBytesPerSecond: Int64 = 1 << 20,
        maxResponseBytes: Int = 64 << 20,
        largeFileThreshold: Int64? = 256 << 20,
        uploadPartBytes: Int64 = 64_000_000,
        uploadPartConcurrency: Int = 4,
        clock: FerryClock = .system,
        userAgent: String = "ferry"
    ) {
        self.pageSize = min(max(pageSize, 1), 10_000)
        self.maxListPages = max(maxListPages, 1)
        self.retry = retry
        self.maxConcurrentRequests = max(maxConcurrentRequests, 1)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.requestTimeout = requestTimeout
        self.minimumUploadBytesPerSecond = max(minimumUploadBytesPerSecond, 1)
        self.maxResponseBytes = maxResponseBytes
        self.largeFileThreshold = largeFileThreshold
        self.uploadPartBytes = min(max(uploadPartBytes, 1), 64_000_000)
        self.uploadPartConcurrency = max(uploadPartConcurrency, 1)
        self.clock = clock
        self.userAgent = userAgent
    }

    /// The deadline for uploading `bytes`: the request timeout plus the time the slowest tolerated rate needs.
    public func uploadTimeout(forBytes bytes: Int64) -> Duration {
        requestTimeout + .seconds(max(bytes, 0) / minimumUploadBytesPerSecond)
    }

    /// An `HTTPClient` configuration carrying these connect and read timeouts, for whoever creates the shared client.
    /// Redirects are not followed: a provider that redirects a file upload is misconfigured.
    /// A connection that cannot be established fails its requests at once, so Ferry's own retry policy (attempts,
    /// backoff) is the only one: with the pool's own reconnect loop, each attempt at an unreachable endpoint
    /// waited for the whole connect timeout, and a reconcile pass took 100 s to report it.
    public func makeHTTPClientConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: TimeAmount(connectTimeout), read: TimeAmount(readTimeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return configuration
    }
}
