import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerryStore
import Foundation
import Logging

/// Everything a command needs wired together: logging, the HTTP client, the store and the engine.
/// Always call `shutdown()`.
struct Runtime {
    let engine: Engine
    let store: StateStore
    let httpClient: HTTPClient
    let console: Console

    static func make(
        options: GlobalOptions, policy: PlanPolicy, console: Console, environment: [String: String]? = nil,
        progress: Bool = true
    ) throws -> Runtime {
        bootstrapLogging(level: options.logLevel)
        let environment = environment ?? ProcessInfo.processInfo.environment
        let configuration = try options.engineConfiguration(policy: policy, environment: environment)
        // Refuse bad manifests before the state file is created or opened: bad input changes nothing.
        _ = try Engine.validate(configuration)
        let store = try StateStore(path: options.state)
        let clientConfiguration = ProviderClientConfiguration()
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: clientConfiguration.makeHTTPClientConfiguration())
        let logger = Logger(label: "ferry")
        do {
            let engine = try Engine(
                configuration: configuration, store: store,
                makeProvider: { endpoint, secret in
                    try ProviderFactory.makeProvider(
                        endpoint: endpoint, apiKey: secret, httpClient: httpClient, configuration: clientConfiguration,
                        environment: environment, logger: logger)
                }, logger: logger, report: console.reporter(verbose: progress))
            return Runtime(engine: engine, store: store, httpClient: httpClient, console: console)
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
