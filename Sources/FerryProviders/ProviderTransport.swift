import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore
import _NIOFileSystem

/// Lets the engine read a client's request statistics through `any FileProvider`.
public protocol ProviderStatsReporting: Sendable {
    /// Requests, failures, retries and latency per operation since the client was made.
    var stats: RequestStats { get }
}

/// What every provider client shares: the bounded, retried, measured and classified HTTP exchange.
/// A client builds requests and decodes answers; this type decides what a failure means.
struct ProviderTransport: Sendable {
    let endpoint: Endpoint
    let httpClient: HTTPClient
    let configuration: ProviderClientConfiguration
    let scrubber: SecretScrubber
    let stats: RequestStats
    let logger: Logger
    private let semaphore: AsyncSemaphore
    private let rateLimiter: RequestRateLimiter?

    init(
        endpoint: Endpoint, httpClient: HTTPClient, configuration: ProviderClientConfiguration,
        secrets: [String], logger: Logger
    ) {
        self.endpoint = endpoint
        self.httpClient = httpClient
        self.configuration = configuration
        self.scrubber = SecretScrubber(secrets: secrets)
        self.stats = RequestStats()
        var logger = logger
        logger[metadataKey: "ferry.endpoint"] = "\(endpoint.displayName)"
        self.logger = logger
        self.semaphore = AsyncSemaphore(permits: configuration.maxConcurrentRequests)
        self.rateLimiter = configuration.requestsPerMinute.map {
            RequestRateLimiter.shared(endpointID: endpoint.id, limit: $0, clock: configuration.clock)
        }
    }

    // MARK: Retries

    /// Runs `attempt` (one HTTP exchange, holding one concurrency slot) until it succeeds, fails for a reason
    /// that retrying cannot fix, or the retry policy runs out. Pauses hold no slot.
    /// - Parameter bounded: `false` for a request made while a slot is already held (a token refresh inside an
    ///   attempt), which would otherwise wait for itself when `maxConcurrentRequests` is 1.
    /// - Throws: `ProviderError` carrying the number of attempts, or `CancellationError`.
    func withRetries<T: Sendable>(
        _ operation: ProviderOperation, bounded: Bool = true, _ attempt: @Sendable () async throws -> T
    ) async throws -> T {
        let policy = configuration.retry
        var generator = SystemRandomNumberGenerator()
        var attemptNumber = 1
        while true {
            do {
                if bounded {
                    // The endpoint's request rate (`rpm`), then a concurrency slot: a request waiting for its turn
                    // holds no slot.
                    if let rateLimiter, try await rateLimiter.acquire() > 0 {
                        stats.recordRateLimitWait(operation)
                    }
                    return try await semaphore.withPermit { try await measured(operation, attempt) }
                }
                return try await measured(operation, attempt)
            } catch var failure as ProviderError {
                failure.attempts = attemptNumber
                guard case .retryable(let retryAfter) = failure.classification, attemptNumber < policy.maxAttempts,
                    let delay = policy.delay(beforeRetry: attemptNumber, retryAfter: retryAfter, using: &generator)
                else {
                    throw failure
                }
                stats.recordRetry(operation)
                logger.debug(
                    "retrying provider request",
                    metadata: [
                        "ferry.operation": "\(operation)", "ferry.attempt": "\(attemptNumber)",
                        "ferry.status": "\(failure.status.map(String.init) ?? "-")", "ferry.delay": "\(delay)",
                    ]
                )
                try await configuration.clock.sleep(for: delay)
                attemptNumber += 1
            }
        }
    }

    private func measured<T: Sendable>(
        _ operation: ProviderOperation, _ attempt: @Sendable () async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let value = try await attempt()
            stats.recordAttempt(operation, latency: clock.now - start, failed: false)
            return value
        } catch {
            stats.recordAttempt(operation, latency: clock.now - start, failed: true)
            throw classify(error, operation, progress: nil)
        }
    }

    // MARK: One exchange

    /// A GET request with the headers every call carries plus `headers` (credentials); callers change the method.
    func request(_ url: String, headers: [(String, String)]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        return request
    }

    /// Sends one request and returns the response when it counts as success (2xx, or 404 on delete).
    /// - Parameters:
    ///   - progress: for requests with a body, how much of it was handed over (decides ambiguity).
    ///   - accepting: further statuses the caller handles itself (308 of a resumable upload, 412).
    ///   - idempotent: overrides `operation.isIdempotent` for classification.
    /// - Throws: a classified `ProviderError` for any other answer or transport failure.
    func send(
        _ request: HTTPClientRequest, _ operation: ProviderOperation, timeout: Duration,
        progress: BodyProgress? = nil, accepting: Set<Int> = [], idempotent: Bool? = nil
    ) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            // The HTTP client's own logger stays disabled: request headers carry credentials.
            response = try await httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: nil)
        } catch {
            throw classify(error, operation, progress: progress, idempotent: idempotent)
        }
        let status = Int(response.status.code)
        if accepting.contains(status) { return response }
        let retryAfter = RetryAfterHeader.parse(
            retryAfter: response.headers.first(name: "retry-after"),
            retryAfterMilliseconds: response.headers.first(name: "retry-after-ms"),
            now: configuration.clock.now()
        )
        guard
            let classification = FailureClassifier.classify(
                status: status, operation: operation, retryAfter: retryAfter, idempotent: idempotent
            )
        else {
            return response
        }
        let body = ProviderErrorBody(body: await prefix(of: response.body, upTo: 64 << 10), scrubber: scrubber)
        throw ProviderError(
            .httpStatus, classification, operation: operation, endpoint: endpoint.displayName, status: status,
            providerMessage: body.message, providerCode: body.code
        )
    }

    /// Reads a success body whole (bounded by `maxResponseBytes`).
    func collect(_ response: HTTPClientResponse, _ operation: ProviderOperation) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw malformed(operation, "response larger than \(configuration.maxResponseBytes) bytes")
        } catch {
            throw classify(error, operation, progress: nil)
        }
    }

    /// Reads and decodes a JSON success body.
    func decode<T: Decodable>(_ type: T.Type, from response: HTTPClientResponse, _ operation: ProviderOperation)
        async throws -> T
    {
        let buffer = try await collect(response, operation)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw malformed(operation, "cannot decode \(T.self): \(Self.describe(decodingError: error))")
        }
    }

    /// Reads and decodes a list page (`JSONPullDecodable`): one pass over the bytes with `JSONPullReader`, without
    /// Foundation's per-object cost. Chosen over `decode` above for those types at compile time.
    func decode<T: JSONPullDecodable>(_ type: T.Type, from response: HTTPClientResponse, _ operation: ProviderOperation)
        async throws -> T
    {
        let buffer = try await collect(response, operation)
        do {
            return try buffer.withUnsafeReadableBytes { bytes in
                try JSONPullReader.read(bytes) { reader in try T(pulling: &reader) }
            }
        } catch {
            throw malformed(operation, "cannot decode \(T.self): \(error)")
        }
    }

    /// A success answer Ferry cannot use. After a create it is ambiguous: the file exists but its id is unknown.
    func malformed(_ operation: ProviderOperation, _ detail: String) -> ProviderError {
        ProviderError(
            .malformedResponse, operation.isIdempotent ? .terminal : .ambiguous, operation: operation,
            endpoint: endpoint.displayName, detail: scrubber.scrub(detail)
        )
    }

    /// A terminal error about something local (the source file, the download target).
    func localFileError(_ operation: ProviderOperation, _ detail: String) -> ProviderError {
        ProviderError(.localFile, .terminal, operation: operation, endpoint: endpoint.displayName, detail: detail)
    }

    /// Opens an upload's source, checks its size against the size that was hashed, and reads `range` of it in
    /// chunks. A source that cannot be opened fails with a terminal `.localFile` error (see `classify`).
    func withSource<T: Sendable>(
        _ upload: UploadRequest, range: Range<Int64>, _ body: (SourceChunks) async throws -> T
    ) async throws -> T {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(upload.sourcePath)) { handle in
            let size = try await handle.info().size
            guard size == upload.bytes else {
                throw sourceChanged(upload, detail: "it is \(size) bytes on disk")
            }
            return try await body(SourceChunks(handle: handle, range: range, chunkBytes: SourceChunks.defaultChunkBytes))
        }
    }

    /// Lists every page of a cursor-paged listing: `fetch` requests the page after a cursor (`nil`: the first),
    /// `absorb` feeds it to the pager. A server that stops advancing fails with a terminal `.paginationStalled`.
    func listAll<Page: Sendable>(
        allowsEmptyPages: Bool = false, fetch: @Sendable (_ cursor: String?) async throws -> Page,
        check: (Page) throws -> Void = { _ in },
        absorb: (inout ListPager, Page) throws(ListPager.Stall) -> Void
    ) async throws -> Listing {
        var pager = ListPager(maxPages: configuration.maxListPages, allowsEmptyPages: allowsEmptyPages)
        while let cursor = pager.nextCursor {
            let page = try await withRetries(.list) { try await fetch(cursor) }
            // The caller's own test of a page it got (not retried; its error is passed on as it is).
            try check(page)
            do {
                try absorb(&pager, page)
            } catch {
                throw ProviderError(
                    .paginationStalled, .terminal, operation: .list, endpoint: endpoint.displayName,
                    detail: error.description)
            }
        }
        logger.debug(
            "listed endpoint", metadata: ["ferry.files": "\(pager.files.count)", "ferry.pages": "\(pager.pages)"])
        return Listing(files: pager.exactFiles, pages: pager.pages)
    }

    /// Uploads a file in one multipart request (`form` around the source's bytes) and decodes the answer.
    /// - Parameters:
    ///   - request: a fresh request to `POST` to, with the provider's headers (called once per attempt).
    ///   - decode: the created file, from the provider's answer.
    func createWithForm(
        _ upload: UploadRequest, form: MultipartForm, request: @escaping @Sendable () -> HTTPClientRequest,
        decode: @escaping @Sendable (HTTPClientResponse) async throws -> RemoteFile
    ) async throws -> RemoteFile {
        let length = form.contentLength(fileBytes: upload.bytes)
        let timeout = configuration.uploadTimeout(forBytes: length)
        return try await withRetries(.create) {
            try await withSource(upload, range: 0..<upload.bytes) { chunks in
                let progress = BodyProgress()
                var post = request()
                post.method = .POST
                post.headers.replaceOrAdd(name: "Content-Type", value: form.contentType)
                let body = FileBody(
                    form: form, chunks: chunks, fileBytes: upload.bytes, progress: progress,
                    transfer: upload.progress?.begin(0..<upload.bytes),
                    hashing: upload.hasher?.begin(0..<upload.bytes),
                    sourceChanged: { read in sourceChanged(upload, detail: "it ended after \(read) bytes") })
                post.body = .stream(body, length: .known(length))
                return try await decode(try await send(post, .create, timeout: timeout, progress: progress))
            }
        }
    }

    /// Refuses a base URL that is not http(s) and an API key with control characters (never echoing the key).
    static func checkConfiguration(baseURL: String, apiKey: Secret?, endpoint: Endpoint) throws {
        guard baseURL.isHTTPURL else {
            throw ProviderError.invalidConfiguration(
                "the base URL \(baseURL) is not an http(s) URL", endpoint: endpoint)
        }
        if let apiKey, apiKey.value.hasControlCharacters {
            // Never echo the value: name where it came from instead.
            throw ProviderError.invalidConfiguration(
                "the API key from \(endpoint.credential) contains a control character (a trailing newline?)",
                endpoint: endpoint)
        }
    }

    /// The terminal error for a source that is no longer what was hashed.
    func sourceChanged(_ upload: UploadRequest, detail: String) -> ProviderError {
        ProviderError(
            .sourceChanged, .terminal, operation: .create, endpoint: endpoint.displayName,
            detail: "\(upload.sourcePath) was hashed at \(upload.bytes) bytes but \(detail); plan again"
        )
    }

    /// Maps anything thrown during an exchange to a classified `ProviderError` (or `CancellationError`).
    func classify(
        _ error: any Error, _ operation: ProviderOperation, progress: BodyProgress?, idempotent: Bool? = nil
    ) -> any Error {
        if let error = error as? ProviderError { return error }
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? FileSystemError {
            return localFileError(operation, "\(error.code): \(error.message)")
        }
        let detail = scrubber.scrub(String(describing: error))
        var code = ProviderError.Code.transport
        if let error = error as? HTTPClientError {
            if FailureClassifier.isLocalMisuse(error) {
                return ProviderError(
                    .invalidConfiguration, .terminal, operation: operation, endpoint: endpoint.displayName,
                    detail: detail
                )
            }
            if FailureClassifier.isTimeout(error) { code = .timeout }
        }
        let classification = FailureClassifier.classifyTransport(
            operation: operation, requestFullySent: progress?.isComplete ?? true, idempotent: idempotent
        )
        return ProviderError(code, classification, operation: operation, endpoint: endpoint.displayName, detail: detail)
    }

    /// The first bytes of an error body; the rest is dropped (and the connection with it).
    private func prefix(of body: HTTPClientResponse.Body, upTo limit: Int) async -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                bytes += chunk.readableBytesView.prefix(limit - bytes.count)
                if bytes.count >= limit { break }
            }
        } catch {
            // A broken error body still leaves the status to classify by.
        }
        return bytes
    }

    private static func describe(decodingError error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "unexpected value at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            return "invalid JSON at \(path(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty
            ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

extension CharacterSet {
    /// RFC 3986 unreserved characters, ASCII only (`CharacterSet.alphanumerics` admits every Unicode letter).
    static let urlUnreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
}

extension String {
    /// Percent-encodes a path segment or query value: everything but RFC 3986 unreserved characters.
    var percentEncodedComponent: String {
        addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? self
    }

    /// The URL with a percent-encoded query appended (unchanged when `query` is empty).
    func appendingQuery(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return self }
        return self + "?"
            + query.map { "\($0.0.percentEncodedComponent)=\($0.1.percentEncodedComponent)" }.joined(separator: "&")
    }

    /// Whether this is an absolute http(s) URL with a host.
    var isHTTPURL: Bool {
        guard let url = URL(string: self), let scheme = url.scheme?.lowercased() else { return false }
        return ["http", "https"].contains(scheme) && url.host != nil
    }

    /// Whether a credential contains a character that cannot go into an HTTP header (a trailing newline).
    var hasControlCharacters: Bool {
        unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// `count` random 64-bit words as hex digits (16 per word).
    static func randomHex(words count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
