import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore

/// AWS Bedrock batch files: objects in an S3 bucket, as LiteLLM's `bedrock` files keep them, under Ferry's own
/// prefix. Path-style requests (`{endpoint}/{bucket}/{key}`), each signed with SigV4 (`SigV4Signer`).
///
/// - list: `GET /{bucket}/?list-type=2&prefix={prefix}&max-keys=1000[&continuation-token=…]`, to the last page
/// - create: `PUT /{bucket}/{key}` streamed from disk with `x-amz-meta-ferry-name` and `x-amz-meta-ferry-sha256`;
///   above `largeFileThreshold` (and always above S3's 5 GiB single-PUT limit) a multipart upload
///   (`POST ?uploads`, `PUT ?partNumber&uploadId` per part, `POST ?uploadId`; `DELETE ?uploadId` on failure)
/// - retrieve: `HEAD /{bucket}/{key}` (size, Last-Modified and Ferry's metadata)
/// - delete: `DELETE /{bucket}/{key}` (204, and 404 `NoSuchKey` counts as done)
/// - content: `GET /{bucket}/{key}`
///
/// File ids are `s3://bucket/key`, what LiteLLM and Bedrock batch jobs take. Every create writes a fresh key
/// (`S3Layout`), so repeating a PUT can only store the same bytes under the same key: creates are retried like any
/// idempotent call, and the answer to a lost PUT is found by the next listing (the key carries the content's
/// SHA-256, so adoption checks content).
///
/// Payload hashing: a single PUT signs the content's SHA-256, which the engine already computed
/// (`UploadRequest.metadata["ferry-sha256"]`), so S3 itself rejects bytes that changed since hashing
/// (`XAmzContentSHA256Mismatch`) at no extra read; without it, and for multipart parts (whose hashes would cost a
/// second read of each part), the body is sent as `UNSIGNED-PAYLOAD`, which S3 accepts; the size check of
/// `FileBody` and the part ETags still guard those.
public struct S3Client: FileProvider, ProviderStatsReporting {
    /// Largest object a single PUT may carry (5 GiB).
    public static let maxSinglePutBytes: Int64 = 5 << 30
    /// Smallest part S3 accepts (all but the last part).
    public static let minPartBytes: Int64 = 5 << 20
    /// Most parts of one multipart upload.
    public static let maxParts: Int64 = 10_000
    /// Largest ListObjectsV2 page (`max-keys`).
    public static let maxPageSize = 1000

    public let endpoint: Endpoint
    /// Requests, failures, retries and latency per operation.
    public var stats: RequestStats { transport.stats }

    let transport: ProviderTransport
    let layout: S3Layout
    private let signer: SigV4Signer?
    /// `http(s)://host[:port]`.
    private let origin: String
    /// The `Host` header (`host` or `host:port`), which is signed.
    private let host: String
    /// The endpoint URL's own path (`""`, or `/s3` for the simulator), before `/{bucket}`.
    private let basePath: String

    /// - Parameters:
    ///   - endpoint: a `.bedrock` endpoint with `bucket` (`name` or `name/prefix`) and `region`; its `baseURL` is
    ///     the S3 endpoint (`https://s3.us-west-2.amazonaws.com`, moto, the simulator's `/s3`).
    ///   - credentials: the keys requests are signed with; nil sends unsigned requests (anonymous).
    /// - Throws: `ProviderError` with code `.invalidConfiguration`.
    public init(
        endpoint: Endpoint, credentials: AWSCredentials?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        logger: Logger = Logger(label: "ferry.providers")
    ) throws {
        guard endpoint.kind == .bedrock else {
            throw ProviderError.invalidConfiguration(
                "S3Client speaks S3 (Bedrock batch files), not \(endpoint.kind.rawValue)", endpoint: endpoint)
        }
        guard let setting = endpoint.bucket, let layout = S3Layout(bucketSetting: setting) else {
            throw ProviderError.invalidConfiguration(
                "a Bedrock endpoint needs an S3 bucket for its files: set s3_bucket_name (`name` or `name/prefix`)",
                endpoint: endpoint)
        }
        guard let region = endpoint.region, !region.isEmpty else {
            throw ProviderError.invalidConfiguration(
                "a Bedrock endpoint needs an AWS region to sign for: set aws_region_name", endpoint: endpoint)
        }
        try ProviderTransport.checkConfiguration(baseURL: endpoint.baseURL, apiKey: nil, endpoint: endpoint)
        if let problem = credentials?.problem {
            throw ProviderError.invalidConfiguration(
                "the AWS keys from \(endpoint.credential) are not usable: \(problem)", endpoint: endpoint)
        }
        guard let url = URL(string: endpoint.baseURL), let scheme = url.scheme, let hostName = url.host else {
            throw ProviderError.invalidConfiguration(
                "the S3 endpoint \(endpoint.baseURL) is not an http(s) URL", endpoint: endpoint)
        }
        let defaultPort = scheme.lowercased() == "https" ? 443 : 80
        let hostText = hostName.contains(":") ? "[\(hostName)]" : hostName
        self.host = url.port.map { $0 == defaultPort ? hostText : "\(hostText):\($0)" } ?? hostText
        self.origin = "\(scheme.lowercased())://\(host)"
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
        self.endpoint = endpoint
        self.layout = layout
        self.signer = credentials.map { SigV4Signer(credentials: $0, region: region) }
        var secrets: [String] = []
        if let credentials {
            secrets.append(credentials.secretAccessKey)
            if let token = credentials.sessionToken { secrets.append(token) }
        }
        self.transport = ProviderTransport(
            endpoint: endpoint, httpClient: httpClient, configuration: configuration, secrets: secrets, logger: logger)
    }

    // MARK: FileProvider

    public func list() async throws -> Listing {
        let pageSize = min(transport.configuration.pageSize, Self.maxPageSize)
        let layout = self.layout
        return try await transport.listAll { cursor in
            var query = [("list-type", "2"), ("max-keys", String(pageSize))]
            if !layout.prefix.isEmpty { query.append(("prefix", layout.prefix)) }
            if let cursor { query.append(("continuation-token", cursor)) }
            let request = signedRequest(.GET, key: nil, query: query)
            let response = try await send(request, .list)
            let text = String(buffer: try await transport.collect(response, .list))
            do {
                return try S3ObjectPage(xml: text)
            } catch {
                throw transport.malformed(.list, "cannot read the ListObjectsV2 answer: \(error)")
            }
        } absorb: { pager, page throws(ListPager.Stall) in
            try pager.absorb(page.objects.map { layout.remoteFile($0) }, next: page.isTruncated ? page.nextContinuationToken : nil)
        }
    }

    public func create(_ upload: UploadRequest) async throws -> RemoteFile {
        let sha256 = upload.metadata[RemoteFile.sha256Key].flatMap { Self.isSHA256Hex($0) ? $0.lowercased() : nil }
        let key = layout.key(
            purpose: upload.purpose, filename: upload.filename, sha256: sha256, unique: String.randomHex(words: 1))
        let attempts = S3CreateAttempts()
        let threshold = min(transport.configuration.largeFileThreshold ?? Self.maxSinglePutBytes, Self.maxSinglePutBytes)
        do {
            if upload.bytes > threshold {
                return try await createMultipart(upload, key: key, attempts: attempts)
            }
            return try await createSingle(upload, key: key, sha256: sha256, attempts: attempts)
        } catch let error as ProviderError where attempts.mayHaveStored {
            throw error.afterPossibleS3Store(of: layout.fileID(key: key))
        }
    }

    public func retrieve(id: String) async throws -> RemoteFile {
        let key = try objectKey(id, operation: .retrieve)
        return try await transport.withRetries(.retrieve) {
            let response = try await send(signedRequest(.HEAD, key: key, query: []), .retrieve)
            _ = try await transport.collect(response, .retrieve)
            return remoteFile(key: key, headers: response.headers.map { ($0.name, $0.value) })
        }
    }

    public func delete(id: String) async throws {
        let key = try objectKey(id, operation: .delete)
        try await transport.withRetries(.delete) {
            // 204 whether or not the key existed; a 404 (NoSuchBucket aside) counts as deleted too.
            let response = try await send(signedRequest(.DELETE, key: key, query: []), .delete)
            _ = try await transport.collect(response, .delete)
        }
    }

    public func content(id: String, to destinationPath: String) async throws -> Int64 {
        let key = try objectKey(id, operation: .content)
        return try await transport.withRetries(.content) {
            var request = signedRequest(.GET, key: key, query: [])
            request.headers.replaceOrAdd(name: "Accept", value: "*/*")
            let response = try await send(request, .content)
            return try await transport.download(response, to: destinationPath, .content)
        }
    }

    // MARK: Creates

    /// One PUT streamed from disk, with the content's SHA-256 as the signed payload hash when it is known.
    private func createSingle(_ upload: UploadRequest, key: String, sha256: String?, attempts: S3CreateAttempts)
        async throws -> RemoteFile
    {
        let timeout = transport.configuration.uploadTimeout(forBytes: upload.bytes)
        let headers = [("content-type", MediaType.guess(filename: upload.filename))] + S3Metadata.headers(upload.metadata)
        let response = try await transport.withRetries(.create) {
            try await transport.withSource(upload, range: 0..<upload.bytes) { chunks in
                var request = signedRequest(
                    .PUT, key: key, query: [], headers: headers, payloadHash: sha256 ?? SigV4Signer.unsignedPayload)
                let progress = BodyProgress()
                let body = FileBody(
                    chunks: chunks, fileBytes: upload.bytes, progress: progress,
                    transfer: upload.progress?.begin(0..<upload.bytes)
                ) { read in
                    transport.sourceChanged(upload, detail: "it ended after \(read) bytes")
                }
                request.body = .stream(body, length: .known(upload.bytes))
                let response = try await sendCreate(
                    request, .create, timeout: timeout, progress: progress, attempts: attempts)
                _ = try await transport.collect(response, .create)
                return response.headers.map { ($0.name, $0.value) }
            }
        }
        return createdFile(key: key, upload: upload, headers: response)
    }

    /// CreateMultipartUpload, the parts in order (each streamed from disk), CompleteMultipartUpload. A failure
    /// before the completion was sent aborts the upload, so no parts are left to bill.
    private func createMultipart(_ upload: UploadRequest, key: String, attempts: S3CreateAttempts) async throws
        -> RemoteFile
    {
        do {
            try await transport.withSource(upload, range: 0..<0) { _ in }
        } catch {
            throw transport.classify(error, .create, progress: nil)
        }
        let partBytes = Self.partBytes(fileBytes: upload.bytes, preferred: transport.configuration.uploadPartBytes)
        let startHeaders = [("content-type", MediaType.guess(filename: upload.filename))]
            + S3Metadata.headers(upload.metadata)
        let uploadID: String = try await transport.withRetries(.uploadStart) {
            let request = signedRequest(.POST, key: key, query: [("uploads", "")], headers: startHeaders)
            let response = try await send(request, .uploadStart)
            let text = String(buffer: try await transport.collect(response, .uploadStart))
            guard let id = S3XML.text("UploadId", in: Substring(text)), !id.isEmpty else {
                throw transport.malformed(.uploadStart, "CreateMultipartUpload answered without an UploadId")
            }
            return id
        }
        var completing = false
        do {
            var parts: [(number: Int, etag: String)] = []
            var offset: Int64 = 0
            while offset < upload.bytes {
                let range = offset..<min(offset + partBytes, upload.bytes)
                let number = parts.count + 1
                let etag: String = try await transport.withRetries(.uploadPart) {
                    try await uploadPart(upload, key: key, uploadID: uploadID, number: number, range: range)
                }
                parts.append((number, etag))
                offset = range.upperBound
            }
            completing = true
            return try await completeMultipart(upload, key: key, uploadID: uploadID, parts: parts, attempts: attempts)
        } catch {
            if !completing || !attempts.mayHaveStored {
                await abortMultipart(key: key, uploadID: uploadID)
            }
            throw error
        }
    }

    private func uploadPart(_ upload: UploadRequest, key: String, uploadID: String, number: Int, range: Range<Int64>)
        async throws -> String
    {
        let bytes = range.upperBound - range.lowerBound
        return try await transport.withSource(upload, range: range) { chunks in
            var request = signedRequest(
                .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], headers: [],
                payloadHash: SigV4Signer.unsignedPayload)
            let progress = BodyProgress()
            let body = FileBody(
                chunks: chunks, fileBytes: bytes, progress: progress, transfer: upload.progress?.begin(range)
            ) { read in
                transport.sourceChanged(upload, detail: "it ended \(read) bytes after offset \(range.lowerBound)")
            }
            request.body = .stream(body, length: .known(bytes))
            let response = try await Self.refusalsRetried {
                try await transport.send(
                    request, .uploadPart, timeout: transport.configuration.uploadTimeout(forBytes: bytes),
                    progress: progress)
            }
            _ = try await transport.collect(response, .uploadPart)
            guard let etag = response.headers.first(name: "ETag"), !etag.isEmpty else {
                throw transport.malformed(.uploadPart, "part \(number) answered without an ETag")
            }
            return etag
        }
    }

    /// CompleteMultipartUpload. S3 may answer 200 and still fail (an `<Error>` body); a repeat after a lost answer
    /// gets 404 `NoSuchUpload`, and then the object is read back: if it is there with the right size, the earlier
    /// completion worked.
    private func completeMultipart(
        _ upload: UploadRequest, key: String, uploadID: String, parts: [(number: Int, etag: String)],
        attempts: S3CreateAttempts
    ) async throws -> RemoteFile {
        let body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>" }
            .joined() + "</CompleteMultipartUpload>"
        let bytes = Array(body.utf8)
        let hash = SHA256Digest.hex(body)
        let outcome: [(String, String)]? = try await transport.withRetries(.uploadComplete) {
            var request = signedRequest(
                .POST, key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
                payloadHash: hash)
            request.body = .bytes(ByteBuffer(bytes: bytes))
            let response = try await sendCreate(
                request, .uploadComplete, timeout: transport.configuration.uploadTimeout(forBytes: upload.bytes),
                progress: nil, accepting: [404], attempts: attempts)
            let text = String(buffer: try await transport.collect(response, .uploadComplete))
            if response.status.code == 404 { return nil }
            if S3XML.elements("Error", in: Substring(text)).first != nil {
                // "200 OK with an error inside": the completion failed after S3 accepted the request.
                let code = S3XML.text("Code", in: Substring(text)) ?? "InternalError"
                throw ProviderError(
                    .httpStatus, code == "SlowDown" || code == "InternalError" ? .retryable(after: nil) : .terminal,
                    operation: .uploadComplete, endpoint: endpoint.displayName, status: 200,
                    providerMessage: S3XML.text("Message", in: Substring(text)).map(transport.scrubber.scrub),
                    providerCode: code)
            }
            return response.headers.map { ($0.name, $0.value) }
        }
        if let headers = outcome { return createdFile(key: key, upload: upload, headers: headers) }
        attempts.noteMayHaveStored()
        let existing = try await retrieve(id: layout.fileID(key: key))
        guard existing.bytes == upload.bytes else {
            throw ProviderError(
                .httpStatus, .terminal, operation: .uploadComplete, endpoint: endpoint.displayName, status: 404,
                detail: "the multipart upload is gone and \(existing.id) holds \(existing.bytes) bytes, not \(upload.bytes)")
        }
        return existing
    }

    private func abortMultipart(key: String, uploadID: String) async {
        do {
            try await transport.withRetries(.uploadCancel) {
                let response = try await send(signedRequest(.DELETE, key: key, query: [("uploadId", uploadID)]), .uploadCancel)
                _ = try await transport.collect(response, .uploadCancel)
            }
        } catch {
            transport.logger.warning(
                "could not abort a multipart upload; a bucket lifecycle rule removes its parts",
                metadata: ["ferry.error": "\(error)"])
        }
    }

    /// Sends a request that can store the object, noting whether it may have: a success answer, or a failure after
    /// the request reached S3 (408, 5xx, a connection lost once the whole body had left).
    private func sendCreate(
        _ request: HTTPClientRequest, _ operation: ProviderOperation, timeout: Duration, progress: BodyProgress?,
        accepting: Set<Int> = [], attempts: S3CreateAttempts
    ) async throws -> HTTPClientResponse {
        do {
            let response = try await Self.refusalsRetried {
                try await transport.send(
                    request, operation, timeout: timeout, progress: progress, accepting: accepting, idempotent: true)
            }
            if (200..<300).contains(Int(response.status.code)) { attempts.noteMayHaveStored() }
            return response
        } catch let error as ProviderError {
            let reached: Bool
            if let status = error.status {
                reached = status == 408 || ((500...599).contains(status) && status != 503)
            } else {
                reached = (error.code == .transport || error.code == .timeout) && (progress?.isComplete ?? true)
            }
            if reached { attempts.noteMayHaveStored() }
            throw error
        }
    }

    /// Part size: the configured one, at least S3's 5 MiB minimum, grown so no upload needs more than 10,000 parts.
    static func partBytes(fileBytes: Int64, preferred: Int64) -> Int64 {
        let least = (fileBytes + maxParts - 1) / maxParts
        return max(preferred, minPartBytes, least)
    }

    static func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    static func isSHA256Hex(_ text: String) -> Bool { text.utf8.count == 64 && text.allSatisfy(\.isHexDigit) }

    // MARK: Requests

    /// A signed request to `/{bucket}/{key}` (`/{bucket}/` when `key` is nil) with `query` (not encoded).
    func signedRequest(
        _ method: S3Method, key: String?, query: [(String, String)], headers: [(String, String)] = [],
        payloadHash: String = SigV4Signer.emptyPayloadHash
    ) -> HTTPClientRequest {
        let path = basePath + "/" + S3Path.encode(layout.bucket, keepSlash: false) + "/"
            + (key.map { S3Path.encode($0, keepSlash: true) } ?? "")
        let url = origin + path + (query.isEmpty ? "" : "?" + S3Path.query(query))
        var request = transport.request(url, headers: [])
        request.method = .init(rawValue: method.rawValue)
        request.headers.replaceOrAdd(name: "Accept", value: "application/xml")
        // Signed with the wall clock, not the injected one: S3 refuses requests more than 15 minutes off.
        let amzDate = SigV4Signer.amzDate(Date())
        var signed = headers
        if let signer {
            signed += signer.requiredHeaders(host: host, payloadHash: payloadHash, amzDate: amzDate)
            let signature = signer.sign(
                method: method.rawValue, encodedPath: path, query: query, headers: signed, payloadHash: payloadHash,
                amzDate: amzDate)
            request.headers.replaceOrAdd(name: "Authorization", value: signature.authorization)
        } else {
            signed += [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
        }
        for (name, value) in signed { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    /// Sends a request without a body under the plain request deadline; S3's `RequestTimeout` (400) and
    /// `SlowDown` are refusals, safe to repeat.
    private func send(_ request: HTTPClientRequest, _ operation: ProviderOperation) async throws -> HTTPClientResponse {
        try await Self.refusalsRetried {
            try await transport.send(request, operation, timeout: transport.configuration.requestTimeout)
        }
    }

    /// S3 answers 400 `RequestTimeout` when a request's body stalled and nothing was stored ("Your socket connection
    /// to the server was not read from or written to within the timeout period"): a refusal, safe to repeat.
    static func refusalsRetried<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ProviderError where error.status == 400 && error.providerCode == "RequestTimeout" {
            throw ProviderError(
                error.code, .retryable(after: nil), operation: error.operation, endpoint: error.endpoint,
                status: error.status, providerMessage: error.providerMessage, providerCode: error.providerCode,
                detail: error.detail, attempts: error.attempts)
        }
    }

    private func objectKey(_ id: String, operation: ProviderOperation) throws -> String {
        guard let (bucket, key) = S3Layout.parse(fileID: id), bucket == layout.bucket else {
            throw ProviderError(
                .invalidConfiguration, .terminal, operation: operation, endpoint: endpoint.displayName,
                detail: "\(id) is not an s3://\(layout.bucket)/key id")
        }
        return key
    }

    private func remoteFile(key: String, headers: [(String, String)]) -> RemoteFile {
        let bytes = Self.header("Content-Length", in: headers).flatMap { Int64($0) } ?? 0
        let modified = Self.header("Last-Modified", in: headers).flatMap(HTTPDate.parse) ?? 0
        return layout.remoteFile(
            key: key, bytes: bytes, createdAt: modified,
            metadata: S3Metadata.read(headers))
    }

    /// The file a create stored: S3's PUT answer carries no size or time, so those are the upload's and the
    /// answer's `Date` (or now).
    private func createdFile(key: String, upload: UploadRequest, headers: [(String, String)]) -> RemoteFile {
        let created = Self.header("Date", in: headers).flatMap(HTTPDate.parse) ?? transport.configuration.clock.nowSeconds()
        return layout.remoteFile(key: key, bytes: upload.bytes, createdAt: created, metadata: upload.metadata)
    }
}

/// The methods S3 requests use.
enum S3Method: String, Sendable {
    case GET, PUT, POST, DELETE, HEAD
}

/// What the attempts of one create have done so far: whether any of them may have stored the object.
private final class S3CreateAttempts: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false

    var mayHaveStored: Bool { lock.withLock { stored } }

    func noteMayHaveStored() { lock.withLock { stored = true } }
}

extension ProviderError {
    /// This failure, ending a create some earlier attempt of which may have stored `fileID`: "certainly not
    /// stored" (`.terminal`, `.notFound`) becomes `.ambiguous`, so the write-ahead intent stays open and the next
    /// observation adopts the object.
    fileprivate func afterPossibleS3Store(of fileID: String) -> ProviderError {
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
