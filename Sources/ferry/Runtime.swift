import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerryStore
import Foundation
import Logging

/// Everything a command needs wired together: logging, the HTTP client, the store and the engine.
/// Always call `shutdown()`.
struct Runtime: Sendable {
    let engine: Engine
    let store: any StateStore
    let httpClient: HTTPClient
    let console: Console
    /// The manifests as validated when the runtime was made; passes use them instead of reading them again.
    let manifests: LoadedManifests

    static func make(
        options: GlobalOptions, policy: PlanPolicy, console: Console, environment: [String: String]? = nil,
        progress: Bool = true, parallelism: Int? = nil, readOnlyState: Bool = false,
        backoff: PlacementBackoff? = nil
    ) throws -> Runtime {
        bootstrapLogging(level: options.logLevel)
        let environment = environment ?? ProcessInfo.processInfo.environment
        var configuration = try options.engineConfiguration(policy: policy, environment: environment)
        configuration.backoff = backoff
        // Refuse bad manifests before the state file is created or opened: bad input changes nothing.
        // A plan from stored listings calls no provider, so it needs no credentials (a pull request without secrets).
        let manifests = try Engine.validate(configuration, offline: readOnlyState)
        configuration.readOnlyState = readOnlyState
        configuration.revision = ManifestRevision.detect(for: configuration, environment: environment)
        let store = try options.openStore(readOnly: readOnlyState)
        let clock = FerryClock.system
        var clientConfiguration = ProviderClientConfiguration(clock: clock)
        var httpConfiguration = clientConfiguration.makeHTTPClientConfiguration()
        if let parallelism {
            // N uploads or deletes at once per endpoint, and at most N requests in flight to it (parts of a large
            // upload included), over as many pooled connections.
            configuration.concurrencyPerEndpoint = parallelism
            clientConfiguration.maxConcurrentRequests = parallelism
            httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
                httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit, parallelism)
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let providerConfiguration = clientConfiguration
        let logger = Logger(label: "ferry")
        do {
            let engine = try Engine(
                configuration: configuration, store: store,
                makeProvider: { endpoint, secret in
                    // LiteLLM's `rpm` of the models on this endpoint bounds Ferry's own requests to it.
                    var configuration = providerConfiguration
                    configuration.requestsPerMinute = manifests.desired.requestsPerMinute(endpointID: endpoint.id)
                    return try ProviderFactory.makeProvider(
                        endpoint: endpoint, apiKey: secret, httpClient: httpClient, configuration: configuration,
                        environment: environment, logger: logger)
                }, logger: logger, clock: clock, report: console.reporter(verbose: progress))
            return Runtime(engine: engine, store: store, httpClient: httpClient, console: console, manifests: manifests)
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
    }

    func shutdown() async {
        try? await httpClient.shutdown()
    }
}

nonisolated(unsafe) private var loggingBootstrapped = false

func bootstrapLogging(level: String) {
    guard !loggingBootstrapped else { return }
    loggingBootstrapped = true
    let parsed = Logger.Level(rawValue: level) ?? .warning
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = parsed
        return handler
    }
}
