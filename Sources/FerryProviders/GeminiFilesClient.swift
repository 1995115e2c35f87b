import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore

/// Google's Gemini API files (the Developer API, not Vertex AI), with `x-goog-api-key` on every call that names
/// the project:
///
/// - create: a resumable upload: `POST {base}/upload/v1beta/files` with `X-Goog-Upload-Command: start` answers a
///   session URL in `X-Goog-Upload-URL`; the bytes go there in chunks (`upload`, the last `upload, finalize`), each
///   at its `X-Goog-Upload-Offset`, streamed from disk. After a failure the session is asked (`query`) how much it
///   holds, and the upload goes on from there, so a create is repeated safely and never makes a second file.
/// - list: `GET {base}/v1beta/files?pageSize=100&pageToken=…` to the end; get and delete `{base}/v1beta/files/{id}`.
///
/// Gemini keeps no purpose and no metadata: the display name is the upload's file name (as Anthropic's filename
/// is), `sha256Hash` gives the content's digest, and each file reports its `expirationTime` (48 hours after upload)
/// and its readiness (`PROCESSING`, `ACTIVE`, `FAILED` with a reason). Gemini answers 403 `PERMISSION_DENIED` for a
/// file that does not exist (any more): on get that is "not found", and on delete "done" once the listing confirms
/// the file is gone; on list and create a 403 is the key's refusal. The key never appears in an error or a log line, and is not sent to the session URL
/// (which authorises the upload by itself).
public struct GeminiFilesClient: FileProvider, ProviderStatsReporting {
    /// Largest page Gemini serves (`pageSize` is at most 100).
    public static let maxPageSize = 100
    /// Bytes per upload request of a resumable upload (the official SDK's chunk size); smaller files go in one.
    public static let defaultChunkBytes: Int64 = 8 << 20

    public let endpoint: Endpoint
    /// Requests, failures, retries and latency per operation.
    public var stats: RequestStats { transport.stats }

    private let apiKey: Secret?
    let transport: ProviderTransport
    /// `{base}/v1beta/files`.
    private let filesURL: String
    /// `{base}/upload/v1beta/files`.
    private let uploadURL: String
    private let chunkBytes: Int64

    /// - Parameters:
    ///   - endpoint: a `.gemini` endpoint; its base URL is the API root (a trailing `/v1beta` is accepted).
    ///   - apiKey: sent as `x-goog-api-key`; `nil` sends no credential.
    ///   - chunkBytes: bytes per upload request (at least 1); files up to this size go in one request.
    ///   - httpClient: shared, owned and shut down by the caller.
    /// - Throws: `ProviderError` with code `.invalidConfiguration`.
    public init(
        endpoint: Endpoint, apiKey: Secret?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        chunkBytes: Int64 = GeminiFilesClient.defaultChunkBytes,
        logger: Logger = Logger(label: "ferry.providers")
    ) throws {
        guard endpoint.kind == .gemini else {
            throw ProviderError.invalidConfiguration(
                "GeminiFilesClient speaks the Gemini API's files, not \(endpoint.kind.rawValue)", endpoint: endpoint)
        }
        guard chunkBytes > 0 else {
            throw ProviderError.invalidConfiguration("the upload chunk size must be positive", endpoint: endpoint)
        }
        try ProviderTransport.checkConfiguration(baseURL: endpoint.baseURL, apiKey: apiKey, endpoint: endpoint)
        let base = Endpoint.geminiBase(endpoint.baseURL)
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.filesURL = base + "/v1beta/files"
        self.uploadURL = base + "/upload/v1beta/files"
        self.chunkBytes = chunkBytes
        self.transport = ProviderTransport(
            endpoint: endpoint, httpClient: httpClient, configuration: configuration,
            secrets: apiKey.map { [$0.value] } ?? [], logger: logger)
    }

    // MARK: FileProvider

    public func list() async throws -> Listing {
        let size = min(transport.configuration.pageSize, Self.maxPageSize)
        do {
            return try await transport.listAll { cursor in
                var query = [("pageSize", String(size))]
                if let token = cursor { query.append(("pageToken", token)) }
                let response = try await send(makeRequest(filesURL.appendingQuery(query)), .list)
                return try await transport.decode(GeminiFileList.self, from: response, .list)
            } absorb: { pager, page throws(ListPager.Stall) in
                try pager.absorb(page.files.map { $0.remoteFile() }, next: page.nextPageToken)
            }
        } catch let error as ProviderError {
            throw explainRefusal(error)
        }
    }

    public func create(_ upload: UploadRequest) async throws -> RemoteFile {
        do {
            // A source that cannot be read fails before a session is opened.
            try await transport.withSource(upload, range: 0..<0) { _ in }
        } catch {
            throw transport.classify(error, .create, progress: nil)
        }
        let session: String
        do {
            session = try await startSession(upload)
        } catch let error as ProviderError {
            throw explainRefusal(error)
        }
        let progress = SessionProgress()
        do {
            return try await transport.withRetries(.uploadPart) {
                var offset: Int64 = 0
                if progress.mayHaveSent {
                    // An earlier attempt failed midway: ask the session what it holds (or the file it made).
                    switch try await query(session, upload: upload) {
                    case .final(let file): return file
                    case .received(let bytes): offset = bytes
                    }
                }
                while true {
                    let end = min(offset + chunkBytes, upload.bytes)
                    progress.noteSending(finalizing: end == upload.bytes)
                    switch try await sendChunk(session, upload: upload, range: offset..<end) {
                    case .final(let file): return file
                    case .received(let bytes):
                        guard bytes > offset else {
                            throw ProviderError(
                                .malformedResponse, .terminal, operation: .uploadPart, endpoint: endpoint.displayName,
                                detail: "the upload session stopped taking bytes at offset \(offset)")
                        }
                        offset = bytes
                    }
                }
            }
        } catch let error as ProviderError where progress.mayHaveFinalized {
            // The finalize may have made the file: never report "certainly not stored", so the engine's write-ahead
            // intent stays open and the next listing adopts the file.
            switch error.classification {
            case .terminal, .notFound:
                throw ProviderError(
                    error.code, .ambiguous, operation: .create, endpoint: error.endpoint, status: error.status,
                    providerMessage: error.providerMessage, providerCode: error.providerCode,
                    detail: (error.detail.map { $0 + "; " } ?? "") + "the upload may have been finalized",
                    attempts: error.attempts)
            case .retryable, .ambiguous:
                throw error
            }
        }
    }

    public func retrieve(id: String) async throws -> RemoteFile {
        let url = try fileURL(id, .retrieve)
        return try await transport.withRetries(.retrieve) {
            let response = try await transport.send(
                makeRequest(url), .retrieve, timeout: transport.configuration.requestTimeout, accepting: [403])
            if response.status.code == 403 {
                // Gemini's "not found": the file does not exist, expired, or is another project's.
                let body = try await transport.collect(response, .retrieve)
                throw ProviderError(
                    .httpStatus, .notFound, operation: .retrieve, endpoint: endpoint.displayName, status: 403,
                    providerMessage: ProviderErrorBody(body: Array(body.readableBytesView), scrubber: transport.scrubber)
                        .message,
                    providerCode: "PERMISSION_DENIED", detail: "Gemini answers 403 for a missing or expired file")
            }
            return try await transport.decode(GeminiFile.self, from: response, .retrieve).remoteFile()
        }
    }

    public func delete(id: String) async throws {
        let url = try fileURL(id, .delete)
        let refused: Bool = try await transport.withRetries(.delete) {
            var request = makeRequest(url)
            request.method = .DELETE
            let response = try await transport.send(
                request, .delete, timeout: transport.configuration.requestTimeout, accepting: [403])
            _ = try await transport.collect(response, .delete)
            return response.status.code == 403
        }
        guard refused else { return }
        // 403 is Gemini's "no such file" (already deleted, or expired), done like a 404 elsewhere; but it is also
        // what a refused key gets. Forgetting a file that still exists would leave it behind unowned, so the
        // listing (where a 403 is always a refusal) must confirm that it is gone.
        let listing = try await list()
        let bare = url.split(separator: "/").last.map(String.init) ?? id
        if listing.files.contains(where: { $0.id == id || $0.id == "files/" + bare }) {
            throw ProviderError(
                .httpStatus, .retryable(after: nil), operation: .delete, endpoint: endpoint.displayName, status: 403,
                providerCode: "PERMISSION_DENIED",
                detail: "the delete of \(id) was refused although the file is still listed")
        }
    }

    /// Gemini serves the content of generated files only; uploaded files cannot be downloaded, so this fails
    /// (terminal) for every file Ferry uploads.
    public func content(id: String, to destinationPath: String) async throws -> Int64 {
        let url = try fileURL(id, .content) + ":download?alt=media"
        return try await transport.withRetries(.content) {
            let response = try await send(makeRequest(url), .content)
            return try await transport.download(response, to: destinationPath, .content)
        }
    }

    // MARK: Resumable upload

    private enum ChunkAnswer: Sendable {
        /// The session holds this many bytes and wants the rest.
        case received(Int64)
        /// The upload is finished: the file it made.
        case final(RemoteFile)
    }

    /// Opens a session and returns its URL (`X-Goog-Upload-URL`). A repeated start only leaves an unused session.
    private func startSession(_ upload: UploadRequest) async throws -> String {
        let metadata = try JSONSerialization.data(withJSONObject: ["file": ["displayName": upload.filename]])
        let contentType = MediaType.guess(filename: upload.filename)
        return try await transport.withRetries(.uploadStart) {
            var request = makeRequest(uploadURL)
            request.method = .POST
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Protocol", value: "resumable")
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Command", value: "start")
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Header-Content-Length", value: String(upload.bytes))
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Header-Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: metadata))
            let response = try await send(request, .uploadStart)
            _ = try await transport.collect(response, .uploadStart)
            guard let location = response.headers.first(name: "X-Goog-Upload-URL"), location.isHTTPURL else {
                throw ProviderError(
                    .malformedResponse, .terminal, operation: .uploadStart, endpoint: endpoint.displayName,
                    detail: "the upload start answered without an http(s) X-Goog-Upload-URL")
            }
            return location
        }
    }

    /// Sends `range` of the source to the session; the last range finalizes the upload.
    private func sendChunk(_ session: String, upload: UploadRequest, range: Range<Int64>) async throws -> ChunkAnswer {
        let finalizing = range.upperBound == upload.bytes
        let timeout = transport.configuration.uploadTimeout(forBytes: Int64(range.count))
        return try await transport.withSource(upload, range: range) { chunks in
            var request = transport.request(session, headers: [])
            request.method = .POST
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Command", value: finalizing ? "upload, finalize" : "upload")
            request.headers.replaceOrAdd(name: "X-Goog-Upload-Offset", value: String(range.lowerBound))
            let progress = BodyProgress()
            request.body = .stream(
                FileBody(
                    chunks: chunks, fileBytes: Int64(range.count), progress: progress,
                    transfer: upload.progress?.begin(range), hashing: upload.hasher?.begin(range)
                ) { read in
                    transport.sourceChanged(upload, detail: "it ended \(read) bytes after offset \(range.lowerBound)")
                },
                length: .known(Int64(range.count)))
            // Every chunk is safe to repeat: the session checks offsets, and a finished one answers its file.
            let response = try await transport.send(
                request, finalizing ? .create : .uploadPart, timeout: timeout, progress: progress, idempotent: true)
            return try await answer(response, upload: upload, expectedEnd: range.upperBound)
        }
    }

    /// Asks the session how much it holds (`X-Goog-Upload-Command: query`).
    private func query(_ session: String, upload: UploadRequest) async throws -> ChunkAnswer {
        var request = transport.request(session, headers: [])
        request.method = .POST
        request.headers.replaceOrAdd(name: "X-Goog-Upload-Command", value: "query")
        request.body = .bytes(ByteBuffer())
        let response = try await transport.send(
            request, .uploadPart, timeout: transport.configuration.requestTimeout, idempotent: true)
        return try await answer(response, upload: upload, expectedEnd: nil)
    }

    /// Reads a session's answer: `X-Goog-Upload-Status: final` with `{"file": …}`, or `active` with how much it
    /// holds (`X-Goog-Upload-Size-Received`, else the end of the chunk just sent).
    private func answer(_ response: HTTPClientResponse, upload: UploadRequest, expectedEnd: Int64?) async throws
        -> ChunkAnswer
    {
        let status = response.headers.first(name: "X-Goog-Upload-Status")?.lowercased()
        if status == "final" {
            let envelope = try await transport.decode(GeminiFileEnvelope.self, from: response, .create)
            return .final(envelope.file.remoteFile(fallback: upload))
        }
        _ = try await transport.collect(response, .uploadPart)
        guard status == "active" else {
            throw ProviderError(
                .malformedResponse, .retryable(after: nil), operation: .uploadPart, endpoint: endpoint.displayName,
                detail: "the upload session answered without X-Goog-Upload-Status (\(status ?? "missing"))")
        }
        if let text = response.headers.first(name: "X-Goog-Upload-Size-Received"), let received = Int64(text),
            (0...upload.bytes).contains(received)
        {
            return .received(received)
        }
        guard let expectedEnd else {
            throw ProviderError(
                .malformedResponse, .terminal, operation: .uploadPart, endpoint: endpoint.displayName,
                detail: "the upload session's query answered no X-Goog-Upload-Size-Received")
        }
        return .received(expectedEnd)
    }

    // MARK: Requests

    func makeRequest(_ url: String) -> HTTPClientRequest {
        transport.request(url, headers: apiKey.map { [("x-goog-api-key", $0.value)] } ?? [])
    }

    /// Sends a request without a body under the plain request deadline.
    func send(_ request: HTTPClientRequest, _ operation: ProviderOperation) async throws -> HTTPClientResponse {
        try await transport.send(request, operation, timeout: transport.configuration.requestTimeout)
    }

    /// `{base}/v1beta/files/{id}` for an id given as `files/abc`, `abc` or the file's full `uri`.
    private func fileURL(_ id: String, _ operation: ProviderOperation) throws -> String {
        var bare = id
        if let range = bare.range(of: "files/", options: .backwards) { bare = String(bare[range.upperBound...]) }
        guard !bare.isEmpty, !bare.contains("/") else {
            throw ProviderError(
                .invalidConfiguration, .terminal, operation: operation, endpoint: endpoint.displayName,
                detail: "\(id) is not a Gemini file name (files/…)")
        }
        return filesURL + "/" + bare.percentEncodedComponent
    }

    /// A 403 on list or create is the key's refusal (unlike on get and delete): say what to check.
    private func explainRefusal(_ error: ProviderError) -> ProviderError {
        guard error.status == 403 else { return error }
        return ProviderError(
            .httpStatus, .terminal, operation: error.operation, endpoint: error.endpoint, status: 403,
            providerMessage: error.providerMessage, providerCode: error.providerCode,
            detail: "the API key from \(endpoint.credential) was refused: check that it is valid and that the "
                + "Generative Language API is enabled for its project",
            attempts: error.attempts)
    }
}

/// What the attempts of one resumable upload have sent: whether any bytes (or the finalize) may have arrived.
private final class SessionProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = false
    private var finalized = false

    var mayHaveSent: Bool { lock.withLock { sent } }
    var mayHaveFinalized: Bool { lock.withLock { finalized } }

    func noteSending(finalizing: Bool) {
        lock.withLock {
            sent = true
            if finalizing { finalized = true }
        }
    }
}
