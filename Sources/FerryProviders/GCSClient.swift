import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore

/// Vertex AI files: objects in a Cloud Storage bucket, through the Cloud Storage JSON API.
///
/// - list: `GET {base}/storage/v1/b/{bucket}/o?prefix=&pageToken=`
/// - create: `POST {base}/upload/storage/v1/b/{bucket}/o?uploadType=multipart&name=…&ifGenerationMatch=0`, or a
///   resumable upload (`uploadType=resumable`, then `PUT` to the session) above `largeFileThreshold`
/// - retrieve, delete, content: `…/b/{bucket}/o/{url-encoded name}` (`?alt=media` for content)
///
/// File ids are `gs://bucket/object`. Every create writes a fresh object name with `ifGenerationMatch=0`, so
/// repeating it can never make a second object: a repeat either creates it or answers 412, and a 412 means the
/// earlier attempt succeeded. Creates are therefore retried like any idempotent call.
///
/// Because of those retries, a create's final error does not describe its earlier attempts: attempt 1 may have
/// stored the object (its answer lost to a 500 or a reset) and attempt 2, or the read-back after its 412, may then
/// fail with a 400, 401, 403 or 404. Once any attempt may have stored the object, the create never fails as
/// `.terminal` or `.notFound` ("certainly not stored", on which the engine closes its write-ahead intent and the
/// object would be orphaned, then uploaded again): such a failure is reported as `.ambiguous` instead.
public struct GCSClient: FileProvider, ProviderStatsReporting {
    public let endpoint: Endpoint
    /// Requests, failures, retries and latency per operation.
    public var stats: RequestStats { transport.stats }

    let transport: ProviderTransport
    let layout: GCSLayout
    /// `https://storage.googleapis.com`, or an emulator.
    let storageBaseURL: String
    private let authorization: Authorization
    /// Whether the server was found to ignore `startOffset`/`endOffset` (then `list(splitAt:)` lists in one chain).
    private let ranges = GCSNameRanges.Support()

    private enum Authorization: Sendable {
        case none
        case token(String)
        case serviceAccount(GoogleTokenSource)
    }

    /// - Parameters:
    ///   - endpoint: a `.vertex` endpoint whose `bucket` is `name` or `name/prefix`.
    ///   - storageBaseURL: the Cloud Storage base URL; `nil` uses the endpoint's `baseURL` (an emulator, or
    ///     `https://storage.googleapis.com`).
    ///   - tokenURL: overrides the key's `token_uri` (tests, private endpoints).
    /// - Throws: `ProviderError` (`.invalidConfiguration`) when the bucket is missing or the key cannot be used.
    public init(
        endpoint: Endpoint, credentials: GoogleCredentials, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        storageBaseURL: String? = nil, tokenURL: String? = nil,
        logger: Logger = Logger(label: "ferry.providers")
    ) throws {
        try self.init(
            endpoint: endpoint, credentials: credentials, httpClient: httpClient, configuration: configuration,
            storageBaseURL: storageBaseURL, tokenURL: tokenURL, signer: nil, logger: logger
        )
    }

    init(
        endpoint: Endpoint, credentials: GoogleCredentials, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration, storageBaseURL: String?, tokenURL: String?,
        signer: (any JWTSigner)?, logger: Logger
    ) throws {
        guard let setting = endpoint.bucket, let layout = GCSLayout(bucketSetting: setting) else {
            throw ProviderError.invalidConfiguration(
                "a Vertex AI endpoint needs a Cloud Storage bucket to hold its files: set the endpoint's bucket "
                    + "(`name` or `name/prefix`)",
                endpoint: endpoint
            )
        }
        var base = storageBaseURL ?? endpoint.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard base.isHTTPURL else {
            throw ProviderError.invalidConfiguration(
                "the Cloud Storage URL \(base) is not an http(s) URL", endpoint: endpoint
            )
        }
        var secrets: [String] = []
        switch credentials {
        case .anonymous: break
        case .accessToken(let token): secrets.append(token.value)
        case .serviceAccount(let key): secrets.append(key.privateKey.value)
        }
        let transport = ProviderTransport(
            endpoint: endpoint, httpClient: httpClient, configuration: configuration, secrets: secrets, logger: logger
        )
        switch credentials {
        case .anonymous:
            self.authorization = .none
        case .accessToken(let token):
            guard !token.value.hasControlCharacters else {
                throw ProviderError.invalidConfiguration(
                    "the access token from \(endpoint.credential) contains a control character", endpoint: endpoint
                )
            }
            self.authorization = .token(token.value)
        case .serviceAccount(let key):
            let chosen: any JWTSigner
            if let signer {
                chosen = signer
            } else {
                do {
                    chosen = try RS256Signer(pem: key.privateKey.value)
                } catch {
                    throw ProviderError.invalidConfiguration(
                        "the private_key of the service-account key from \(endpoint.credential) is not a PEM RSA key",
                        endpoint: endpoint
                    )
                }
            }
            self.authorization = .serviceAccount(
                GoogleTokenSource(key: key, tokenURL: tokenURL, signer: chosen, transport: transport)
            )
        }
        self.endpoint = endpoint
        self.layout = layout
        self.storageBaseURL = base
        self.transport = transport
    }

    // MARK: FileProvider

    public func list() async throws -> Listing {
        try await list(from: nil, to: nil)
    }

    public var listsIDRanges: Bool { true }

    /// `list()` as ranges of object names listed at once, cut at the names of those of `ids` that are objects
    /// under this endpoint's prefix: a listing is otherwise a chain of pages of at most 1,000 objects, each asked
    /// for when the previous one arrived. A server that ignores the bounds (gcp-storage-emulator does) answers a
    /// range with objects outside it: the endpoint is then listed again in one chain, and this client no longer
    /// splits.
    public func list(splitAt ids: [String]) async throws -> Listing {
        let cuts = GCSNameRanges.cuts(objectNames: ids.compactMap(layout.objectName(fileID:)), prefix: layout.prefix)
        guard !cuts.isEmpty, !ranges.ignored else { return try await list() }
        let bounds = GCSNameRanges.bounds(cuts)
        do {
            let parts = try await withThrowingTaskGroup(of: (Int, Listing).self) { group in
                for (index, range) in bounds.enumerated() {
                    group.addTask { (index, try await list(from: range.start, to: range.end)) }
                }
                var parts = [Listing](repeating: Listing(files: [], pages: 0), count: bounds.count)
                for try await (index, part) in group { parts[index] = part }
                return parts
            }
            // In name order, like one chain: the ranges are disjoint and in order.
            var files: [RemoteFile] = []
            files.reserveCapacity(parts.reduce(0) { $0 + $1.files.count })
            for part in parts { files += part.files }
            return Listing(files: files, pages: parts.reduce(0) { $0 + $1.pages })
        } catch is GCSNameRanges.Ignored {
            ranges.markIgnored()
            return try await list()
        }
    }

    /// Every object under the prefix whose name is at or after `start` and before `end` (unbounded when nil).
    /// - Throws: `GCSNameRanges.Ignored` when a bounded listing holds an object outside its bounds.
    private func list(from start: String?, to end: String?) async throws -> Listing {
        let base = "\(storageBaseURL)/storage/v1/b/\(layout.bucket.percentEncodedComponent)/o"
        let layout = self.layout
        return try await transport.listAll(allowsEmptyPages: true) { cursor in
            // Only the fields Ferry reads (a partial response): a page of 1,000 objects is about a third of the bytes.
            var query = [
                ("maxResults", String(min(transport.configuration.pageSize, 1000))),
                ("fields", "nextPageToken,items(\(GCSObject.listedFields))"),
            ]
            if !layout.prefix.isEmpty { query.append(("prefix", layout.prefix)) }
            if let start { query.append(("startOffset", start)) }
            if let end { query.append(("endOffset", end)) }
            if let token = cursor { query.append(("pageToken", token)) }
            let response = try await send(try await request(base.appendingQuery(query)), .list)
            return try await transport.decode(GCSObjectList.self, from: response, .list)
        } check: { page in
            if start != nil || end != nil,
                !page.items.allSatisfy({ GCSNameRanges.contains($0.name, from: start, to: end) })
            {
                throw GCSNameRanges.Ignored()
            }
        } absorb: { pager, page throws(ListPager.Stall) in
            try pager.absorb(page.items.map(layout.remoteFile), next: page.nextPageToken)
        }
    }

    public func create(_ upload: UploadRequest) async throws -> RemoteFile {
        let name = layout.objectName(purpose: upload.purpose, filename: upload.filename, unique: Self.uniqueToken())
        let attempts = CreateAttempts()
        do {
            if let threshold = transport.configuration.largeFileThreshold, upload.bytes > threshold {
                return try await createResumable(upload, name: name, attempts: attempts)
            }
            return try await createMultipart(upload, name: name, attempts: attempts)
        } catch let error as ProviderError where attempts.mayHaveStored {
            throw error.afterPossibleStore(of: layout.fileID(objectName: name))
        }
    }

    /// A single-request upload: `uploadType=multipart`, a `multipart/related` body of the object's JSON resource
    /// (name, content type, Ferry's custom metadata) and then the bytes, streamed from disk.
    private func createMultipart(_ upload: UploadRequest, name: String, attempts: CreateAttempts) async throws
        -> RemoteFile
    {
        let url = uploadURL.appendingQuery([("uploadType", "multipart"), ("name", name), ("ifGenerationMatch", "0")])
        let timeout = transport.configuration.uploadTimeout(forBytes: upload.bytes)
        let contentType = MediaType.guess(filename: upload.filename)
        let resource = try uploadMetadata(upload, name: name, contentType: contentType)
        let boundary = "ferry-" + Self.uniqueToken() + Self.uniqueToken()
        let head = Array("--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".utf8) + resource
            + Array("\r\n--\(boundary)\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        let tail = Array("\r\n--\(boundary)--\r\n".utf8)
        let stored: GCSObject? = try await transport.withRetries(.create) {
            try await transport.withSource(upload, range: 0..<upload.bytes) { chunks in
                var request = try await request(url)
                request.method = .POST
                request.headers.replaceOrAdd(name: "Content-Type", value: "multipart/related; boundary=\(boundary)")
                let progress = BodyProgress()
                let body = FileBody(
                    head: head, chunks: chunks, fileBytes: upload.bytes, tail: tail, progress: progress,
                    transfer: upload.progress?.begin(0..<upload.bytes)
                ) { read in
                    transport.sourceChanged(upload, detail: "it ended after \(read) bytes")
                }
                request.body = .stream(body, length: .known(body.length))
                let response = try await sendUpload(
                    request, timeout: timeout, progress: progress, accepting: [412], attempts: attempts)
                return try await storedObject(response)
            }
        }
        guard let stored else { return try await adoptEarlierAttempt(name: name, upload: upload, attempts: attempts) }
        return layout.remoteFile(stored)
    }

    /// The object resource sent with an upload, carrying Ferry's custom metadata (`UploadRequest.metadata`).
    private func uploadMetadata(_ upload: UploadRequest, name: String, contentType: String) throws -> [UInt8] {
        do {
            return try GCSUploadMetadata(
                name: name, contentType: contentType, metadata: upload.metadata.isEmpty ? nil : upload.metadata
            ).encoded()
        } catch {
            throw ProviderError(
                .localFile, .terminal, operation: .create, endpoint: endpoint.displayName,
                detail: "cannot encode the object metadata: \(error)")
        }
    }

    public func retrieve(id: String) async throws -> RemoteFile {
        let url = try objectURL(id, operation: .retrieve)
        return try await transport.withRetries(.retrieve) {
            let response = try await send(try await request(url), .retrieve)
            return layout.remoteFile(try await transport.decode(GCSObject.self, from: response, .retrieve))
        }
    }

    public func delete(id: String) async throws {
        let url = try objectURL(id, operation: .delete)
        try await transport.withRetries(.delete) {
            var request = try await request(url)
            request.method = .DELETE
            let response = try await send(request, .delete)
            _ = try await transport.collect(response, .delete)
        }
    }

    public func content(id: String, to destinationPath: String) async throws -> Int64 {
        let url = try objectURL(id, operation: .content, query: [("alt", "media")])
        return try await transport.withRetries(.content) {
            var request = try await request(url)
            request.headers.replaceOrAdd(name: "Accept", value: "*/*")
            let response = try await send(request, .content)
            return try await transport.download(response, to: destinationPath, .content)
        }
    }

    // MARK: Resumable uploads

    /// Starts a resumable session, then sends the file; after a failure it asks the session how much arrived and
    /// sends only the rest (Cloud Storage resumable upload protocol).
    private func createResumable(_ upload: UploadRequest, name: String, attempts: CreateAttempts) async throws
        -> RemoteFile
    {
        do {
            try await transport.withSource(upload, range: 0..<0) { _ in }
        } catch {
            throw transport.classify(error, .create, progress: nil)
        }
        let startURL = uploadURL.appendingQuery(
            [("uploadType", "resumable"), ("name", name), ("ifGenerationMatch", "0")]
        )
        let contentType = MediaType.guess(filename: upload.filename)
        let session: String? = try await transport.withRetries(.create) {
            var request = try await request(startURL)
            request.method = .POST
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json; charset=UTF-8")
            request.headers.replaceOrAdd(name: "X-Upload-Content-Type", value: contentType)
            request.headers.replaceOrAdd(name: "X-Upload-Content-Length", value: String(upload.bytes))
            request.body = .bytes(ByteBuffer(bytes: try uploadMetadata(upload, name: name, contentType: contentType)))
            let response = try await transport.send(
                request, .create, timeout: transport.configuration.requestTimeout, accepting: [412], idempotent: true
            )
            _ = try await transport.collect(response, .create)
            if response.status.code == 412 { return nil }
            guard let location = response.headers.first(name: "Location"), !location.isEmpty else {
                throw ProviderError(
                    .malformedResponse, .terminal, operation: .create, endpoint: endpoint.displayName,
                    detail: "the resumable upload answered without a session Location"
                )
            }
            return location
        }
        guard let session else { return try await adoptEarlierAttempt(name: name, upload: upload, attempts: attempts) }
        let timeout = transport.configuration.uploadTimeout(forBytes: upload.bytes)
        let finished: RemoteFile? = try await transport.withRetries(.create) {
            let offset: Int64
            switch try await sessionStatus(session, total: upload.bytes, attempts: attempts) {
            case .complete(let object): return object.map(layout.remoteFile)
            case .received(let bytes): offset = bytes
            }
            return try await transport.withSource(upload, range: offset..<upload.bytes) { chunks in
                var request = try await request(session)
                request.method = .PUT
                request.headers.replaceOrAdd(
                    name: "Content-Range", value: "bytes \(offset)-\(upload.bytes - 1)/\(upload.bytes)"
                )
                let progress = BodyProgress()
                request.body = .stream(
                    FileBody(
                        chunks: chunks, fileBytes: upload.bytes - offset, progress: progress,
                        transfer: upload.progress?.begin(offset..<upload.bytes)
                    ) { read in
                        transport.sourceChanged(upload, detail: "it ended \(read) bytes after offset \(offset)")
                    },
                    length: .known(upload.bytes - offset)
                )
                // 412: the session's precondition found the name taken, which only this create can have done.
                let response = try await sendUpload(
                    request, timeout: timeout, progress: progress, accepting: [308, 412], attempts: attempts)
                guard response.status.code != 308 else {
                    _ = try await transport.collect(response, .create)
                    // The session kept only part of it: ask again and continue from there.
                    throw ProviderError(
                        .transport, .retryable(after: nil), operation: .create, endpoint: endpoint.displayName,
                        status: 308, detail: "the upload session stored only part of the file"
                    )
                }
                return try await storedObject(response).map(layout.remoteFile)
            }
        }
        if let finished { return finished }
        return try await adoptEarlierAttempt(name: name, upload: upload, attempts: attempts)
    }

    private enum SessionStatus {
        /// The upload is finished; `nil` when the object must be read back.
        case complete(GCSObject?)
        case received(Int64)
    }

    /// Asks a resumable session how many bytes it holds (`PUT` with `Content-Range: bytes */total`).
    /// (A status query can itself finish the upload when every byte is there, so it counts as a possible store.)
    private func sessionStatus(_ session: String, total: Int64, attempts: CreateAttempts) async throws
        -> SessionStatus
    {
        var request = try await request(session)
        request.method = .PUT
        request.headers.replaceOrAdd(name: "Content-Range", value: "bytes */\(total)")
        request.body = .bytes(ByteBuffer())
        let response = try await sendUpload(
            request, timeout: transport.configuration.requestTimeout, progress: nil, accepting: [308, 412],
            attempts: attempts)
        if response.status.code != 308 { return .complete(try await storedObject(response)) }
        _ = try await transport.collect(response, .create)
        // `Range: bytes=0-N` when N+1 bytes were persisted; absent when none were.
        guard let range = response.headers.first(name: "Range"), let dash = range.lastIndex(of: "-"),
            let last = Int64(range[range.index(after: dash)...])
        else { return .received(0) }
        return .received(min(last + 1, total))
    }

    // MARK: Requests

    /// Where objects of this endpoint's bucket are uploaded.
    private var uploadURL: String {
        "\(storageBaseURL)/upload/storage/v1/b/\(layout.bucket.percentEncodedComponent)/o"
    }

    /// The object a create's success answer describes; `nil` when it must be read back instead: after a 412, or
    /// when the answer cannot be decoded (the object exists under its name either way).
    private func storedObject(_ response: HTTPClientResponse) async throws -> GCSObject? {
        if response.status.code == 412 {
            _ = try await transport.collect(response, .create)
            return nil
        }
        do {
            return try await transport.decode(GCSObject.self, from: response, .create)
        } catch let error as ProviderError where error.code == .malformedResponse {
            return nil
        }
    }

    /// After a 412 (`ifGenerationMatch=0` found the name taken) the object is the one an earlier attempt of this
    /// same create stored, since names are never reused: read it back and check its size. A failure of the read
    /// leaves the object in place and the create `.ambiguous` (see `create`), for the engine to adopt later.
    private func adoptEarlierAttempt(name: String, upload: UploadRequest, attempts: CreateAttempts) async throws
        -> RemoteFile
    {
        attempts.noteMayHaveStored()
        let existing = try await retrieve(id: layout.fileID(objectName: name))
        guard existing.bytes == upload.bytes else {
            // Not the file, yet under this create's own unique name, so Ferry's: no intent can claim it (its size
            // differs), so remove it rather than leave an orphan. Only a removed object makes the failure terminal.
            var detail = "\(existing.id) already exists with \(existing.bytes) bytes, not \(upload.bytes)"
            do {
                try await delete(id: existing.id)
                attempts.noteRemoved()
                detail += "; it was deleted"
            } catch {
                detail += "; deleting it failed: \(error)"
            }
            throw ProviderError(
                .httpStatus, .terminal, operation: .create, endpoint: endpoint.displayName, status: 412,
                detail: detail
            )
        }
        return existing
    }

    /// Sends one request of a create that carries (or can complete) the object, noting whether it may have stored
    /// it: a success or 412 answer, or a failure after the request reached Cloud Storage (408, 5xx, a connection
    /// lost or timed out once the whole body had left). Refusals before any work (429, other 4xx) note nothing.
    private func sendUpload(
        _ request: HTTPClientRequest, timeout: Duration, progress: BodyProgress?, accepting: Set<Int>,
        attempts: CreateAttempts
    ) async throws -> HTTPClientResponse {
        do {
            let response = try await transport.send(
                request, .create, timeout: timeout, progress: progress, accepting: accepting, idempotent: true)
            let status = Int(response.status.code)
            if (200..<300).contains(status) || status == 412 { attempts.noteMayHaveStored() }
            return response
        } catch let error as ProviderError {
            let reached: Bool
            if let status = error.status {
                reached = status == 408 || (500...599).contains(status)
            } else {
                reached = (error.code == .transport || error.code == .timeout) && (progress?.isComplete ?? true)
            }
            if reached { attempts.noteMayHaveStored() }
            throw error
        }
    }

    private func request(_ url: String) async throws -> HTTPClientRequest {
        switch authorization {
        case .none:
            return transport.request(url, headers: [])
        case .token(let token):
            return transport.request(url, headers: [("Authorization", "Bearer " + token)])
        case .serviceAccount(let source):
            return transport.request(url, headers: [("Authorization", "Bearer " + (try await source.token()))])
        }
    }

    private func send(_ request: HTTPClientRequest, _ operation: ProviderOperation) async throws -> HTTPClientResponse {
        try await transport.send(request, operation, timeout: transport.configuration.requestTimeout)
    }

    private func objectURL(_ id: String, operation: ProviderOperation, query: [(String, String)] = []) throws
        -> String
    {
        guard let (bucket, object) = GCSLayout.parse(fileID: id) else {
            throw ProviderError(
                .invalidConfiguration, .terminal, operation: operation, endpoint: endpoint.displayName,
                detail: "\(id) is not a gs://bucket/object id"
            )
        }
        let path = "/storage/v1/b/\(bucket.percentEncodedComponent)/o/\(object.percentEncodedComponent)"
        return (storageBaseURL + path).appendingQuery(query)
    }

    /// 16 random hex digits: enough that two uploads never share an object name.
    static func uniqueToken() -> String { .randomHex(words: 1) }
}

/// What the attempts of one create have done so far: whether any of them may have stored the object.
private final class CreateAttempts: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false

    /// Whether an attempt may have stored the object and it has not been removed since.
    var mayHaveStored: Bool { lock.withLock { stored } }

    func noteMayHaveStored() { lock.withLock { stored = true } }

    /// The object was deleted again: the create left nothing behind.
    func noteRemoved() { lock.withLock { stored = false } }
}

extension ProviderError {
    /// This failure, ending a create some earlier attempt of which may have stored `fileID`: a "certainly not
    /// stored" classification (`.terminal`, `.notFound`) becomes `.ambiguous`, so the write-ahead intent stays
    /// open and the next observation adopts the object. Retryable and ambiguous failures are returned unchanged.
    fileprivate func afterPossibleStore(of fileID: String) -> ProviderError {
        switch classification {
        case .terminal, .notFound:
            let note = "an earlier attempt of this create may have stored \(fileID)"
            return ProviderError(
                code, .ambiguous, operation: operation, endpoint: endpoint, status: status,
                providerMessage: providerMessage, providerCode: providerCode,
                detail: detail.map { "\($0); \(note)" } ?? note, attempts: attempts)
        case .retryable, .ambiguous:
            return self
        }
    }
}
