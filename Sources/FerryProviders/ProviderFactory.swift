import AsyncHTTPClient
import FerryCore
import Foundation
import Logging

/// Makes the client for an endpoint's provider kind.
public enum ProviderFactory {
    /// Cloud Storage's public JSON API.
    public static let defaultStorageBaseURL = "https://storage.googleapis.com"

    /// The client for `endpoint`: `OpenAIFilesClient` for `.openai` and `.azure`, `GCSClient` for `.vertex`,
    /// `AnthropicFilesClient` for `.anthropic`, `GeminiFilesClient` for `.gemini`, `S3Client` for `.bedrock`.
    ///
    /// Vertex AI files live in Cloud Storage. The storage API is `STORAGE_EMULATOR_HOST` when that is set in
    /// `environment` (then without credentials, like Google's client libraries), else the endpoint's `baseURL`
    /// unless that is empty or a Vertex AI API URL, else `https://storage.googleapis.com`. `apiKey` holds a
    /// service-account key as JSON, a path to one, or an access token.
    /// - Throws: `ProviderError` with code `.invalidConfiguration` when the endpoint cannot work (an Azure
    ///   endpoint without api-version, a Vertex AI endpoint without a bucket, an unusable key).
    public static func makeProvider(
        endpoint: Endpoint, apiKey: Secret?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "ferry.providers")
    ) throws -> any FileProvider {
        switch endpoint.kind {
        case .openai, .azure:
            return try OpenAIFilesClient(
                endpoint: endpoint, apiKey: apiKey, httpClient: httpClient, configuration: configuration, logger: logger
            )
        case .anthropic:
            return try AnthropicFilesClient(
                endpoint: endpoint, apiKey: apiKey, httpClient: httpClient, configuration: configuration, logger: logger
            )
        case .bedrock:
            // The secret is the packed AWS keys (`AWSCredentials.packed`); none signs nothing (anonymous).
            var credentials: AWSCredentials?
            if let apiKey {
                guard let unpacked = AWSCredentials(packed: apiKey.value) else {
                    throw ProviderError.invalidConfiguration(
                        "the AWS keys from \(endpoint.credential) are incomplete", endpoint: endpoint)
                }
                credentials = unpacked
            }
            return try S3Client(
                endpoint: endpoint, credentials: credentials, httpClient: httpClient, configuration: configuration,
                logger: logger)
        case .gemini:
            return try GeminiFilesClient(
                endpoint: endpoint, apiKey: apiKey, httpClient: httpClient, configuration: configuration, logger: logger
            )
        case .vertex:
            if let emulator = environment["STORAGE_EMULATOR_HOST"], !emulator.isEmpty {
                return try GCSClient(
                    endpoint: endpoint, credentials: .anonymous, httpClient: httpClient, configuration: configuration,
                    storageBaseURL: emulator.contains("://") ? emulator : "http://" + emulator, logger: logger
                )
            }
            let base = endpoint.baseURL
            let storage = base.isEmpty || base.contains("aiplatform.googleapis.com") ? defaultStorageBaseURL : base
            return try GCSClient(
                endpoint: endpoint, credentials: try GoogleCredentials(secret: apiKey, endpoint: endpoint),
                httpClient: httpClient, configuration: configuration, storageBaseURL: storage, logger: logger
            )
        }
    }
}
