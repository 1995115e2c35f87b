import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Errors of the simulator's lifecycle.
public enum SimulatorError: Error, CustomStringConvertible {
    /// `run()` was called on an instance that has already run; create a new `Simulator` (with the same storage
    /// directory, to keep its files).
    case alreadyRun
    /// The run ended (or failed) before the server was listening.
    case stoppedBeforeListening

    public var description: String {
        switch self {
        case .alreadyRun: return "this simulator has already run; create a new instance to run it again"
        case .stoppedBeforeListening: return "the simulator's server stopped before it was listening"
        }
    }
}

/// A wire-compatible stand-in for the OpenAI, Azure OpenAI and Anthropic Files APIs and the Google Cloud Storage
/// JSON API (Vertex AI files, with an OAuth 2.0 token endpoint), with fault injection.
///
/// A `Service`: run it in a `ServiceGroup` (or any task); a graceful shutdown stops accepting connections and lets
/// requests in flight finish, a cancellation stops at once. An instance runs once.
///
/// ```swift
/// let simulator = Simulator()
/// let group = ServiceGroup(services: [simulator], logger: logger)
/// // in a task: try await group.run()
/// let port = try await simulator.listeningPort()
/// // point a client at simulator.openAIBaseURL, simulator.azureEndpoint, simulator.anthropicBaseURL or
/// // simulator.gcsBaseURL
/// await group.triggerGracefulShutdown()
/// ```
public final class Simulator: Service, Sendable {
    let core: SimulatorCore
    /// Whether `run()` was called (an instance runs once).
    private let started = NIOLockedValueBox(false)
    /// The bound port while listening, else 0.
    private let boundPort = NIOLockedValueBox(0)
    /// Completed once: with the port when the server listens, or with the error that ended the run before.
    private let listening: EventLoopPromise<Int>

    public init(configuration: SimulatorConfiguration = .init()) {
        self.core = SimulatorCore(configuration: configuration)
        self.listening = EventLoopGroupProvider.singleton.eventLoopGroup.next().makePromise(of: Int.self)
    }

    deinit {
        // Never run: fulfil the promise anyway (NIO traps on promises dropped unfulfilled; later completions of a
        // fulfilled promise are ignored).
        listening.fail(SimulatorError.stoppedBeforeListening)
    }

    public var configuration: SimulatorConfiguration { core.configuration }

    /// Loads persisted files (when a storage directory is configured), then serves until a graceful shutdown or
    /// cancellation. A graceful shutdown stops accepting connections and lets requests in flight finish.
    /// - Throws: `SimulatorError.alreadyRun` on a second call; storage and bind errors.
    public func run() async throws {
        let first = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        guard first else { throw SimulatorError.alreadyRun }
        defer { boundPort.withLockedValue { $0 = 0 } }
        do {
            try core.loadStorage()
            let configuration = core.configuration
            var logger = Logger(label: "ferry.simulator")
            logger.logLevel = configuration.logLevel
            let app = Application(
                router: SimulatorRoutes(core: core).makeRouter(),
                configuration: ApplicationConfiguration(
                    address: .hostname(configuration.host, port: configuration.port)),
                onServerRunning: { [boundPort, listening] channel in
                    let port = channel.localAddress?.port ?? configuration.port
                    boundPort.withLockedValue { $0 = port }
                    listening.succeed(port)
                },
                logger: logger
            )
            try await app.run()
        } catch {
            listening.fail(error)
            throw error
        }
        listening.fail(SimulatorError.stoppedBeforeListening)
    }

    /// Waits until `run()` has bound its port and returns it (the picked one when configured with port 0).
    /// - Throws: the error the run ended with, or `SimulatorError.stoppedBeforeListening`, when it ended before
    ///   listening.
    public func listeningPort() async throws -> Int {
        try await listening.futureResult.get()
    }

    /// The bound port while listening, else 0.
    public var port: Int { boundPort.withLockedValue { $0 } }

    var urlHost: String {
        let host = core.configuration.host
        if host == "0.0.0.0" || host == "::" || host.isEmpty { return "127.0.0.1" }
        return host.contains(":") ? "[\(host)]" : host
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL an OpenAI client uses.
    public var openAIBaseURL: String { "http://\(urlHost):\(port)/v1" }

    /// `http://127.0.0.1:PORT`: the Azure endpoint (clients append `/openai/files?api-version=…`).
    public var azureEndpoint: String { "http://\(urlHost):\(port)" }

    /// `http://127.0.0.1:PORT/anthropic`: the Anthropic base URL (clients append `/v1/files`). The prefix keeps
    /// Anthropic's `/v1/files` apart from OpenAI's on the same port.
    public var anthropicBaseURL: String { "http://\(urlHost):\(port)/anthropic" }

    /// Request and fault counters since start (or the last reset).
    public func stats() -> SimulatorStats { core.stats() }

    /// Sets every counter back to zero.
    public func resetStats() { core.resetStats() }

    /// Replaces the fault plan; a plan with a seed restarts its random sequence.
    public func setFaults(_ plan: FaultPlan) { core.setPlan(plan) }

    /// The fault plan in force.
    public var faults: FaultPlan { core.currentPlan() }
}
