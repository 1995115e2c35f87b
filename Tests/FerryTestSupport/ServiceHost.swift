import Logging
import ServiceLifecycle

/// Runs services in the background of a test under one `ServiceGroup`, the way the CLI runs them, and stops them
/// with a graceful shutdown (what SIGTERM does in `ferry serve`).
///
/// ```swift
/// let simulator = Simulator()
/// let host = ServiceHost(simulator)
/// let port = try await simulator.listeningPort()
/// // …
/// try await host.stop()
/// ```
public final class ServiceHost: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts `services` at once; a service that ends (or fails) shuts the whole group down.
    public init(_ services: any Service..., logger: Logger = Logger(label: "ferry.test.services")) {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
            },
            logger: logger)
        // A test that forgets to answer a request must not hang the suite: cancel after a while.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        self.group = group
        self.task = Task { try await group.run() }
    }

    /// Shuts the group down gracefully and waits until every service has returned.
    /// - Throws: the first error a service ended with.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// `stop()`, ignoring a service's error (for `defer`-style cleanup after the test's own checks).
    public func stopQuietly() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
