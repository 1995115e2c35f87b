import AsyncHTTPClient
import FerryCore
import Logging

/// Makes the client for an endpoint's provider kind.
public enum ProviderFactory {
    /// The client for `endpoint`: `OpenAIFilesClient` for `.openai` and `.azure`.
    /// - Throws: `ProviderError` with code `.unsupportedProvider` for `.vertex` (not supported yet), or
    ///   `.invalidConfiguration` when the endpoint cannot work (an Azure endpoint without api-version).
    public static func makeProvider(
        endpoint: Endpoint, apiKey: Secret?, httpClient: HTTPClient,
        configuration: ProviderClientConfiguration = ProviderClientConfiguration(),
        logger: Logger = Logger(label: "ferry.providers")
    ) throws -> any FileProvider {
        switch endpoint.kind {
        case .openai, .azure:
            return try OpenAIFilesClient(
                endpoint: endpoint, apiKey: apiKey, httpClient: httpClient, configuration: configuration, logger: logger
            )
        case .vertex:
            throw ProviderError.unsupported(.vertex, endpoint: endpoint)
        }
    }
}
