import Logging
import ServiceLifecycle

/// Runs long-running services (the status view, the simulator, the reconcile loop) under one `ServiceGroup` until
/// SIGTERM or SIGINT starts a graceful shutdown: the reconcile loop finishes its pass, servers stop accepting and
/// answer what is in flight. `whenStarted` runs beside them (to print the address once a server is listening).
/// - Throws: the first error a service fails with (an address that cannot be bound, say).
func runServices(
    _ services: [any Service], logger: Logger, whenStarted: @escaping @Sendable () async throws -> Void = {}
) async throws {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        // A failure here (the server never listened) is the group's own failure, which `group.run()` reports.
        tasks.addTask { try? await whenStarted() }
        try await tasks.waitForAll()
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h` (or a bare number of seconds).
func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let value = Double(text.dropLast(suffix.count)), value > 0 else { return nil }
        return .milliseconds(Int64(value * scale * 1000))
    }
    guard let seconds = Double(text), seconds > 0 else { return nil }
    return .milliseconds(Int64(seconds * 1000))
}

/// Runs `body` while `services` run in the background under one `ServiceGroup`, then shuts them down gracefully
/// (the demo runs the simulator this way). SIGTERM or SIGINT shuts the services down early.
func withServices<Value: Sendable>(
    _ services: [any Service], logger: Logger, _ body: @Sendable () async throws -> Value
) async throws -> Value {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    return try await withThrowingTaskGroup(of: Value?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        let value: Value
        do {
            value = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return value
    }
}
