import AsyncHTTPClient
import FerryCore
import FerrySimulator
import FerryTestSupport
import Testing

@testable import FerryProviders

/// Starts simulators and clients for the integration tests, and stops them whatever happens.
enum SimulatorHarness {
    static let key = "sk-ferry-integration-0123456789abcdef"
}

/// Runs `body` with a running simulator (set up by `configure`) and an HTTP client, and stops both whatever happens.
func withSimulator(
    faults: FaultPlan = .none, connectTimeout: Duration = .seconds(5),
    configure: (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: (Simulator, HTTPClient) async throws -> Void
) async throws {
    try await withSimulatorHost(faults: faults, connectTimeout: connectTimeout, configure: configure) {
        simulator, http, _ in
        try await body(simulator, http)
    }
}

/// `withSimulator`, also handing over the `ServiceHost` the simulator runs in (to stop it early).
func withSimulatorHost(
    faults: FaultPlan = .none, connectTimeout: Duration = .seconds(5),
    configure: (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: (Simulator, HTTPClient, ServiceHost) async throws -> Void
) async throws {
    var settings = SimulatorConfiguration(faults: faults, logLevel: .critical)
    configure(&settings)  // e.g. Gemini's processing delay and file lifetime
    let simulator = Simulator(configuration: settings)
    let host = ServiceHost(simulator)
    let configuration = ProviderClientConfiguration(connectTimeout: connectTimeout, readTimeout: .seconds(30))
    let http = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: configuration.makeHTTPClientConfiguration()
    )
    do {
        _ = try await simulator.listeningPort()
        try await body(simulator, http, host)
    } catch {
        try? await http.shutdown()
        await host.stopQuietly()
        throw error
    }
    try await http.shutdown()
    // Stopping twice (after a test stopped it early) is harmless.
    try await host.stop()
}

/// An OpenAI-flavor client for the simulator that never really sleeps between retries.
func openAIClient(
    _ simulator: Simulator, _ http: HTTPClient, key: String = SimulatorHarness.key,
    configure: (inout ProviderClientConfiguration) -> Void = { _ in }
) throws -> OpenAIFilesClient {
    var configuration = ProviderClientConfiguration(requestTimeout: .seconds(30), clock: .system.sleeping { _ in })
    configure(&configuration)
    let endpoint = Endpoint(kind: .openai, baseURL: simulator.openAIBaseURL, credential: .environment("TEST_KEY"))
    return try OpenAIFilesClient(
        endpoint: endpoint, apiKey: Secret(key), httpClient: http, configuration: configuration
    )
}

/// Reproducible pseudo-random bytes.
func randomBytes(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// The `ProviderError` that `body` throws; records an issue when it throws nothing or something else.
func expectProviderError(
    _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) async -> ProviderError? {
    do {
        try await body()
        Issue.record("expected a ProviderError", sourceLocation: sourceLocation)
        return nil
    } catch let error as ProviderError {
        return error
    } catch {
        Issue.record("expected a ProviderError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
