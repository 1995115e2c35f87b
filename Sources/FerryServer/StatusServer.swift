import FerryStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The read-only status view over a state database: HTML at `/`, JSON under `/api/v1/`, OpenAI-compatible
/// `GET /v1/files…`, `/metrics`, `/healthz` and `/readyz`. It only ever reads the store.
///
/// A swift-service-lifecycle `Service`: run it in a `ServiceGroup` (beside the reconcile loop in
/// `reconcile --listen`), and stop it with the group's graceful shutdown (SIGTERM or SIGINT in `ferry serve`):
///
/// ```swift
/// let server = StatusServer(store: try StateStores.open(path, readOnly: true), configuration: .init(port: 0))
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// async let running: Void = group.run()
/// let port = try await server.listeningPort()
/// ```
///
/// On graceful shutdown it stops accepting, closes idle connections at once and busy ones after their answer;
/// requests still in flight `configuration.drainTimeout` after the shutdown began are cut (their connections
/// closed). Cancelling `run()` stops it at once: the listener closes and requests in flight are cut. An instance
/// runs once.
public final class StatusServer: Service, Sendable {
    /// Address, token and limits.
    public let configuration: StatusServerConfiguration
    let store: any StateStore
    private let logger: Logger
    private let requests = InFlightRequests()
    private let hasRun = Atomic<Bool>(false)
    private let boundPort = Atomic<Int>(0)
    /// Completed once: with the bound port, or with why the run ended before listening (later completions are
    /// ignored by NIO).
    private let listening: EventLoopPromise<Int>

    /// - Parameters:
    ///   - store: the state database; opened read-only by `ferry serve`, shared with the engine in
    ///     `reconcile --listen`. The server never writes it.
    ///   - configuration: address, token and limits.
    ///   - logger: where request errors and lifecycle events go; its level is set to `configuration.logLevel`.
    public init(
        store: any StateStore, configuration: StatusServerConfiguration = .init(),
        logger: Logger = Logger(label: "ferry.status")
    ) {
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger.logLevel = configuration.logLevel
        self.logger = logger
        self.listening = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
    }

    deinit {
        // A server that never ran: NIO requires every promise to be completed.
        listening.fail(StatusServerError.stoppedBeforeListening)
    }

    /// The bound port while listening, else 0.
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Waits until the server listens and returns the bound port (the one picked when configured with port 0).
    /// - Throws: why the run ended before the server was listening (for instance the address is taken), or
    ///   `StatusServerError.stoppedBeforeListening`.
    public func listeningPort() async throws -> Int {
        try await listening.futureResult.get()
    }

    /// Serves until graceful shutdown (then drains, see the type's documentation) or cancellation (then stops at
    /// once, cutting the requests in flight).
    /// - Throws: when the address cannot be bound, or `StatusServerError.alreadyRun` on a second call.
    public func run() async throws {
        guard !hasRun.exchange(true, ordering: .acquiringAndReleasing) else { throw StatusServerError.alreadyRun }
        defer {
            boundPort.store(0, ordering: .releasing)
            listening.fail(StatusServerError.stoppedBeforeListening)
        }
        let applicationGroup = ServiceGroup(
            configuration: .init(services: [makeApplication()], logger: logger))
        // Unstructured, so that cancelling `run()` reaches the application as a graceful shutdown: cancelled while
        // accepting, Hummingbird logs an error. Like a child task, it inherits the caller's graceful shutdown.
        let application = Task { try await applicationGroup.run() }
        do {
            try await withTaskCancellationHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await self.cutRequestsWhenDrainTimesOut(application) }
                    try await application.value
                    group.cancelAll()
                }
            } onCancel: {
                Task {
                    await applicationGroup.triggerGracefulShutdown()
                    self.requests.closeConnections()
                }
            }
        } catch {
            listening.fail(error)
            throw error
        }
    }

    /// Once `drainTimeout` has passed since graceful shutdown began, closes the connections of the requests still
    /// in flight and cancels what they wait for; returns at once when cancelled (the application has ended).
    private func cutRequestsWhenDrainTimesOut(_ application: Task<Void, any Error>) async {
        do {
            try await gracefulShutdown()
            try await Task.sleep(for: configuration.drainTimeout)
        } catch {
            return
        }
        let cut = requests.closeConnections()
        application.cancel()
        if cut > 0 {
            logger.warning(
                "status server: cut requests still in flight after the drain timeout",
                metadata: ["requests": "\(cut)", "drainTimeout": "\(configuration.drainTimeout)"])
        }
    }

    private func makeApplication() -> some ApplicationProtocol {
        let configuration = self.configuration
        let router = makeStatusRouter(
            store: store, configuration: configuration, requests: requests, logger: logger)
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: configuration.maxHeaderBytes,
                        maxHeaderListSize: configuration.maxHeaderBytes,
                        maxHeaderFieldCount: 100))),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil, backlog: 256,
                reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                boundPort.store(port, ordering: .releasing)
                listening.succeed(port)
            },
            logger: logger
        )
    }
}

extension Duration {
    /// Whole nanoseconds, for NIO's `TimeAmount`.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
