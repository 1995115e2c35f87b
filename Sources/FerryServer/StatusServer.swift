import FerryStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The read-only status view over a state database: HTML at `/`, JSON under `/api/v1/`, OpenAI-compatible
/// `GET /v1/files…`, `/metrics`, `/healthz` and `/readyz`. It only ever reads the store.
///
/// ```swift
/// let server = StatusServer(store: try StateStore(path: path, readOnly: true), configuration: .init(port: 0))
/// let port = try await server.start()
/// // …
/// await server.stop()
/// ```
/// `run()` does the same until the calling task is cancelled, so it fits in a task group or a service group
/// next to the reconcile loop.
public final class StatusServer: Sendable {
    private enum Lifecycle {
        case stopped
        case starting
        case running(task: Task<Void, Never>, port: Int)
        case stopping(Task<Void, Never>)
    }

    public let configuration: StatusServerConfiguration
    let store: StateStore
    let state: ServerState
    private let lifecycle = Locked(Lifecycle.stopped)

    /// - Parameters:
    ///   - store: the state database; opened read-only by `ferry serve`, shared with the engine in
    ///     `reconcile --listen`. The server never writes it.
    ///   - configuration: address, token and limits.
    public init(store: StateStore, configuration: StatusServerConfiguration = .init()) {
        self.store = store
        self.configuration = configuration
        self.state = ServerState()
    }

    /// Starts listening and returns the bound port. Calling it while running returns the port; calling it while
    /// stopping waits for the stop, then starts again.
    /// - Throws: when the address cannot be bound, or `StatusServerError.alreadyStarting`.
    public func start() async throws -> Int {
        enum Next {
            case bind
            case running(Int)
            case wait(Task<Void, Never>)
        }
        while true {
            let next = try lifecycle.withLock { state -> Next in
                switch state {
                case .running(_, let port): return .running(port)
                case .starting: throw StatusServerError.alreadyStarting
                case .stopping(let stopping): return .wait(stopping)
                case .stopped:
                    state = .starting
                    return .bind
                }
            }
            switch next {
            case .running(let port): return port
            case .wait(let stopping): await stopping.value
            case .bind: return try await bind()
            }
        }
    }

    private func bind() async throws -> Int {
        let configuration = self.configuration
        let serverState = self.state
        var logger = Logger(label: "ferry.status") { QuietOnStopLogHandler(label: $0, state: serverState) }
        logger.logLevel = configuration.logLevel
        let started = OneShot<Int>()
        let router = makeStatusRouter(store: store, configuration: configuration, state: serverState, logger: logger)
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ConnectionTracker(state: serverState)],
                    idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: configuration.maxHeaderBytes,
                        maxHeaderListSize: configuration.maxHeaderBytes,
                        maxHeaderFieldCount: 100))),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil, backlog: 256,
                reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { channel in
                started.succeed(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
        serverState.stopping.withLock { $0 = false }
        let task = Task {
            do {
                try await app.run()
                started.fail(StatusServerError.stoppedBeforeListening)
            } catch {
                started.fail(error)
            }
        }
        do {
            let port = try await started.wait()
            lifecycle.withLock { $0 = .running(task: task, port: port) }
            return port
        } catch {
            task.cancel()
            await task.value
            lifecycle.withLock { $0 = .stopped }
            throw error
        }
    }

    /// Stops listening and closes every connection: idle ones at once, busy ones after their answer; requests
    /// still in flight after `drainTimeout` are cut. Returns once the server has stopped. Safe to call more than
    /// once, concurrently, from a cancelled task, or when never started.
    public func stop() async {
        let stopping = lifecycle.withLock { state -> Task<Void, Never>? in
            switch state {
            case .running(let server, _):
                // Unstructured, so a cancelled caller still gets a complete stop.
                let stopping = Task { await self.shutDown(server) }
                state = .stopping(stopping)
                return stopping
            case .stopping(let stopping): return stopping
            case .stopped, .starting: return nil
            }
        }
        guard let stopping else { return }
        await stopping.value
        lifecycle.withLock { state in
            if case .stopping = state { state = .stopped }
        }
    }

    private func shutDown(_ server: Task<Void, Never>) async {
        state.stopping.withLock { $0 = true }
        state.quiesceConnections()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.drainTimeout)
        while state.openConnections > 0 || state.inFlight.withLock({ $0 }) > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        state.closeConnections()
        server.cancel()
        await server.value
        // A connection accepted while the listener was closing.
        state.closeConnections()
    }

    /// Starts, serves until the calling task is cancelled, then stops.
    /// - Throws: when the server cannot start; returns normally on cancellation.
    public func run() async throws {
        _ = try await start()
        let task = lifecycle.withLock { state -> Task<Void, Never>? in
            if case .running(let task, _) = state { return task }
            return nil
        }
        if let task {
            // Returns when the server stops by itself, or once a cancellation of the caller has stopped it.
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                Task { await self.stop() }
            }
        }
        await stop()
    }

    /// The bound port while running, else 0.
    public var port: Int {
        lifecycle.withLock { state in
            if case .running(_, let port) = state { return port }
            return 0
        }
    }
}

/// Mutable state shared by the server's requests and connections: requests in flight, open connections, and
/// whether `stop()` is under way.
final class ServerState: Sendable {
    let inFlight = Locked(0)
    let stopping = Locked(false)
    private let connections = Locked([ObjectIdentifier: any Channel]())

    func opened(_ channel: any Channel) { connections.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func closed(_ channel: any Channel) {
        connections.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
    var openConnections: Int { connections.withLock { $0.count } }

    /// Asks every connection to close once its answer in progress is written (at once when idle).
    func quiesceConnections() {
        for channel in connections.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeConnections() {
        for channel in connections.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Registers each connection with the server's state while it is open, so `stop()` can close it.
final class ConnectionTracker: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let state: ServerState

    init(state: ServerState) {
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state.opened(context.channel)
        if state.stopping.withLock({ $0 }) { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state.closed(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.closed(context.channel)
        context.fireChannelInactive()
    }
}

/// Writes to standard error like `StreamLogHandler`, but drops the cancellation error Hummingbird logs
/// when `stop()` itself cancels the server.
struct QuietOnStopLogHandler: LogHandler {
    private var inner: StreamLogHandler
    private let state: ServerState

    init(label: String, state: ServerState) {
        self.inner = StreamLogHandler.standardError(label: label)
        self.state = state
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if state.stopping.withLock({ $0 }), "\(event.message)".contains("CancellationError") { return }
        inner.log(event: event)
    }
}

extension Duration {
    /// Whole nanoseconds, for NIO's `TimeAmount`.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
