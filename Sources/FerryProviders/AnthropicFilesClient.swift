import AsyncHTTPClient
import FerryCore
import Foundation
import Logging
import NIOCore

/// Anthropic's Files API (beta): `{base}/v1/files[/{id}[/content]]` with `x-api-key`, `anthropic-version` and the
/// Files beta header on every call.
///
/// Anthropic files have no purpose, no metadata and no processing state: the upload sends only the `file` part,
/// listed files report an empty purpose, and a file is ready when its upload answers. Like every client, each call
/// is bounded, retried per `ProviderClientConfiguration.retry` (429, 529 `overloaded_error` and 503 are refusals,
/// safe to repeat even for a create) and classified; the key never appears in an error or a log line.
public struct AnthropicFilesClient: FileProvider, ProviderStatsReporting {
    /// The `anthropic-version` Ferry speaks.
    public static let apiVersion = "2023-06-01"
    /// The beta the Files API is behind.
    public static let betaHeader = "files-api-2025-04-14"
    /// Largest page Anthropic serves (`limit` is 1…1000).
    public static let maxPageSize = 1000

    public let endpoint: Endpoint
    /// Requests, failures, retries and latency per operation.
    public var stats: RequestStats { transport.stats }

    private let apiKey: Secret?
    let transport: ProviderTransport
    /// `{base}/v1/files`.
    private let filesURL: String

    /// - Parameters:
    ///   - endpoint: an `.anthropic` endpoint; its base URL is the API root (a trailing `/v1` is accepted).
    ///   - apiKey: sent as `x-api-key`; `nil` sends no credential.
    ///   - httpClient: shared, owned and shut down by the caller.
    /// - Throws: `ProviderError` with code `.invalidConfiguration`.
    public init(
        endpoint: Endpoint, apiKey: Secret?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        logger: Logger = Logger(label: "ferry.providers")
    ) throws {
        guard endpoint.kind == .anthropic else {
            throw ProviderError.invalidConfiguration(
                "AnthropicFilesClient speaks Anthropic's Files API, not \(endpoint.kind.rawValue)", endpoint: endpoint)
        }
        try ProviderTransport.checkConfiguration(baseURL: endpoint.baseURL, apiKey: apiKey, endpoint: endpoint)
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.filesURL = Endpoint.anthropicBase(endpoint.baseURL) + "/v1/files"
        self.transport = ProviderTransport(
            endpoint: endpoint, httpClient: httpClient, configuration: configuration,
            secrets: apiKey.map { [$0.value] } ?? [], logger: logger)
    }

    // MARK: FileProvider

    public func list() async throws -> Listing {
        let limit = min(transport.configuration.pageSize, Self.maxPageSize)
        return try await transport.listAll { cursor in
            var query = [("limit", String(limit))]
            if let after = cursor { query.append(("after_id", after)) }
            let response = try await send(makeRequest(filesURL.appendingQuery(query)), .list)
            return try await transport.decode(AnthropicFileList.self, from: response, .list)
        } absorb: { pager, page throws(ListPager.Stall) in
            try pager.absorb(page)
        }
    }

    public func create(_ upload: UploadRequest) async throws -> RemoteFile {
        // One part, `file`: Anthropic has no purpose field (the upload's purpose is not sent).
        let form = MultipartForm(
            fields: [], fileField: "file", filename: upload.filename,
            fileContentType: MediaType.guess(filename: upload.filename))
        let url = filesURL
        return try await transport.createWithForm(upload, form: form, request: { makeRequest(url) }) { response in
            try await transport.decode(AnthropicFileMetadata.self, from: response, .create).remoteFile(fallback: upload)
        }
    }

    public func retrieve(id: String) async throws -> RemoteFile {
        let url = filesURL + "/" + id.percentEncodedComponent
        return try await transport.withRetries(.retrieve) {
            let response = try await send(makeRequest(url), .retrieve)
            return try await transport.decode(AnthropicFileMetadata.self, from: response, .retrieve).remoteFile()
        }
    }

    public func delete(id: String) async throws {
        let url = filesURL + "/" + id.percentEncodedComponent
        try await transport.withRetries(.delete) {
            var request = makeRequest(url)
            request.method = .DELETE
            // 404 counts as deleted (the transport lets it through); the body (`{id, type: "file_deleted"}`) is
            // read only to free the connection.
            let response = try await send(request, .delete)
            _ = try await transport.collect(response, .delete)
        }
    }

    /// Anthropic serves the content of files its tools created; files uploaded through the API cannot be
    /// downloaded, so this fails (terminal) for every file Ferry uploads.
    public func content(id: String, to destinationPath: String) async throws -> Int64 {
        let url = filesURL + "/" + id.percentEncodedComponent + "/content"
        return try await transport.withRetries(.content) {
            var request = makeRequest(url)
            request.headers.replaceOrAdd(name: "Accept", value: "application/binary")
            let response = try await send(request, .content)
            return try await transport.download(response, to: destinationPath, .content)
        }
    }

    // MARK: Requests

    func makeRequest(_ url: String) -> HTTPClientRequest {
        var headers = [("anthropic-version", Self.apiVersion), ("anthropic-beta", Self.betaHeader)]
        if let apiKey { headers.append(("x-api-key", apiKey.value)) }
        return transport.request(url, headers: headers)
    }

    /// Sends a request without a body under the plain request deadline.
    func send(_ request: HTTPClientRequest, _ operation: ProviderOperation) async throws -> HTTPClientResponse {
        try await transport.send(request, operation, timeout: transport.configuration.requestTimeout)
    }
}
