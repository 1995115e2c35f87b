import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore
import _NIOFileSystem

/// The Files API of OpenAI, any OpenAI-compatible server (a LiteLLM proxy included) and Azure OpenAI.
///
/// - OpenAI: `{base}/files[/{id}[/content]]`, `Authorization: Bearer <key>`.
/// - Azure OpenAI: `{endpoint}/openai/files[/{id}[/content]]?api-version=<version>`, `api-key: <key>`.
///
/// Every call is bounded by `maxConcurrentRequests`, retried per `ProviderClientConfiguration.retry` and
/// classified (`ProviderError.classification`). A create is retried only when the provider certainly did not
/// store it; otherwise it fails `.ambiguous` and the engine resolves it by listing.
public struct OpenAIFilesClient: FileProvider, ProviderStatsReporting {
    /// Which dialect of the Files API an endpoint speaks.
    public enum Flavor: Sendable, Hashable {
        case openAI
        case azure(apiVersion: String)
    }

    public let endpoint: Endpoint
    /// The dialect, from `endpoint.kind`.
    public let flavor: Flavor
    /// Requests, failures, retries and latency per operation.
    public var stats: RequestStats { transport.stats }

    private let apiKey: Secret?
    let transport: ProviderTransport
    /// `{base}/files` (OpenAI) or `{endpoint}/openai/files` (Azure).
    let filesURL: String

    /// - Parameters:
    ///   - endpoint: an `.openai` or `.azure` endpoint; Azure needs `apiVersion`.
    ///   - apiKey: sent as `Authorization: Bearer` (OpenAI) or `api-key` (Azure); `nil` sends no credential.
    ///   - httpClient: shared, owned and shut down by the caller
    ///     (`configuration.makeHTTPClientConfiguration()` gives it the right timeouts).
    /// - Throws: `ProviderError` with code `.invalidConfiguration`.
    public init(
        endpoint: Endpoint, apiKey: Secret?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        logger: Logger = Logger(label: "ferry.providers")
    ) throws {
        switch endpoint.kind {
        case .openai:
            self.flavor = .openAI
            self.filesURL = endpoint.baseURL + "/files"
        case .azure:
            guard let version = endpoint.apiVersion, !version.isEmpty else {
                throw ProviderError.invalidConfiguration(
                    "an Azure OpenAI endpoint needs api_version (the api-version query parameter)", endpoint: endpoint
                )
            }
            self.flavor = .azure(apiVersion: version)
            // Accept the resource endpoint with or without the `/openai` path.
            let root = endpoint.baseURL.hasSuffix("/openai") ? endpoint.baseURL : endpoint.baseURL + "/openai"
            self.filesURL = root + "/files"
        case .vertex, .anthropic, .gemini, .bedrock:
            throw ProviderError.invalidConfiguration(
                "OpenAIFilesClient speaks the OpenAI and Azure Files API, not \(endpoint.kind.rawValue)", endpoint: endpoint
            )
        }
        try ProviderTransport.checkConfiguration(baseURL: endpoint.baseURL, apiKey: apiKey, endpoint: endpoint)
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.transport = ProviderTransport(
            endpoint: endpoint, httpClient: httpClient, configuration: configuration,
            secrets: apiKey.map { [$0.value] } ?? [], logger: logger
        )
    }

    // MARK: FileProvider

    public func list() async throws -> Listing {
        try await transport.listAll { cursor in
            var query = [("limit", String(transport.configuration.pageSize)), ("order", "asc")]
            if let after = cursor { query.append(("after", after)) }
            let response = try await send(makeRequest(url(filesURL, query: query)), .list)
            return try await transport.decode(OpenAIFileList.self, from: response, .list)
        } absorb: { pager, page throws(ListPager.Stall) in
            try pager.absorb(page)
        }
    }

    public func create(_ upload: UploadRequest) async throws -> RemoteFile {
        if flavor == .openAI, let threshold = transport.configuration.largeFileThreshold, upload.bytes > threshold {
            return try await createInParts(upload)
        }
        var fields = [("purpose", upload.purpose)]
        if let seconds = upload.expiresAfterSeconds {
            // The form encoding of the `expires_after` object: OpenAI's brackets, Azure's dots.
            fields += flavor != .openAI
                ? [("expires_after.anchor", "created_at"), ("expires_after.seconds", String(seconds))]
                : [("expires_after[anchor]", "created_at"), ("expires_after[seconds]", String(seconds))]
        }
        let form = MultipartForm(
            fields: fields, fileField: "file", filename: upload.filename,
            fileContentType: MediaType.guess(filename: upload.filename)
        )
        let url = self.url(filesURL)
        return try await transport.createWithForm(upload, form: form, request: { makeRequest(url) }) { response in
            try await transport.decode(OpenAIFileObject.self, from: response, .create).remoteFile(fallback: upload)
        }
    }

    public func retrieve(id: String) async throws -> RemoteFile {
        let url = self.url(filesURL + "/" + id.percentEncodedComponent)
        return try await transport.withRetries(.retrieve) {
            let response = try await send(makeRequest(url), .retrieve)
            return try await transport.decode(OpenAIFileObject.self, from: response, .retrieve).remoteFile()
        }
    }

    public func delete(id: String) async throws {
        let url = self.url(filesURL + "/" + id.percentEncodedComponent)
        try await transport.withRetries(.delete) {
            var request = makeRequest(url)
            request.method = .DELETE
            let response = try await send(request, .delete)
            let body = try await transport.collect(response, .delete)
            if response.status.code == 404 { return }
            // Some servers answer 204 or an empty 200; only an explicit `"deleted": false` is a refusal.
            guard body.readableBytes > 0,
                let result = try? JSONDecoder().decode(OpenAIDeleteResult.self, from: Data(body.readableBytesView)),
                result.deleted == false
            else { return }
            throw ProviderError(
                .deleteRefused, .retryable(after: nil), operation: .delete, endpoint: endpoint.displayName,
                status: Int(response.status.code), detail: "the provider answered deleted=false for \(id)"
            )
        }
    }

    public func content(id: String, to destinationPath: String) async throws -> Int64 {
        let url = self.url(filesURL + "/" + id.percentEncodedComponent + "/content")
        return try await transport.withRetries(.content) {
            var request = makeRequest(url)
            request.headers.replaceOrAdd(name: "Accept", value: "*/*")
            let response = try await send(request, .content)
            return try await transport.download(response, to: destinationPath, .content)
        }
    }

    // MARK: Requests

    func makeRequest(_ url: String) -> HTTPClientRequest {
        var headers: [(String, String)] = []
        if let apiKey {
            switch flavor {
            case .openAI: headers.append(("Authorization", "Bearer " + apiKey.value))
            case .azure: headers.append(("api-key", apiKey.value))
            }
        }
        return transport.request(url, headers: headers)
    }

    /// Sends a request without a body under the plain request deadline.
    func send(_ request: HTTPClientRequest, _ operation: ProviderOperation) async throws -> HTTPClientResponse {
        try await transport.send(request, operation, timeout: transport.configuration.requestTimeout)
    }

    /// `url` with the query, Azure's `api-version` first.
    func url(_ base: String, query: [(String, String)] = []) -> String {
        var items = query
        if case .azure(let version) = flavor { items.insert(("api-version", version), at: 0) }
        return base.appendingQuery(items)
    }
}

extension ProviderTransport {
    /// Streams a response body into `path`. The file appears only when the whole body arrived: a failed
    /// download leaves nothing behind.
    func download(_ response: HTTPClientResponse, to path: String, _ operation: ProviderOperation) async throws -> Int64
    {
        do {
            return try await FileSystem.shared.withFileHandle(
                forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)
            ) { handle in
                var written: Int64 = 0
                var iterator = response.body.makeAsyncIterator()
                while true {
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await iterator.next()
                    } catch {
                        throw classify(error, operation, progress: nil)
                    }
                    guard let chunk else { return written }
                    try await handle.write(contentsOf: chunk, toAbsoluteOffset: written)
                    written += Int64(chunk.readableBytes)
                }
            }
        } catch let error as FileSystemError {
            throw localFileError(operation, "cannot write \(path): \(error.code)")
        }
    }
}
