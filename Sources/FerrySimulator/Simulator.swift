import Foundation
import Hummingbird
import Logging

/// Errors of the simulator's lifecycle.
public enum SimulatorError: Error, CustomStringConvertible {
    case alreadyStarting
    case stoppedBeforeListening

    public var description: String {
        switch self {
        case .alreadyStarting: return "the simulator is already starting"
        case .stoppedBeforeListening: return "the simulator's server stopped before it was listening"
        }
    }
}

/// A wire-compatible stand-in for the OpenAI and Azure OpenAI Files APIs and the Google Cloud Storage JSON
/// API (Vertex AI files, with an OAuth 2.0 token endpoint), with fault injection.
///
/// ```swift
/// let simulator = Simulator()
/// let port = try await simulator.start()
/// // point a client at simulator.openAIBaseURL, simulator.azureEndpoint or simulator.gcsBaseURL
/// await simulator.stop()
/// ```
public final class Simulator: Sendable {
    private enum Lifecycle {
        case stopped
        case starting
        case running(task: Task<Void, Never>, port: Int)
    }

    let core: SimulatorCore
    private let lifecycle = Locked(Lifecycle.stopped)
    private let stopping = Locked(false)

    /// How long `stop()` waits for requests in flight before it closes the connections.
    static let drainTimeout: Duration = .seconds(5)

    public init(configuration: SimulatorConfiguration = .init()) {
        self.core = SimulatorCore(configuration: configuration)
    }

    public var configuration: SimulatorConfiguration { core.configuration }

    /// Starts listening and returns the bound port. Calling it while running returns the port.
    /// Loads persisted files first when a storage directory is configured.
    public func start() async throws -> Int {
        let alreadyRunning = try lifecycle.withLock { state -> Int? in
            switch state {
            case .running(_, let port): return port
            case .starting: throw SimulatorError.alreadyStarting
            case .stopped:
                state = .starting
                return nil
            }
        }
        if let alreadyRunning { return alreadyRunning }

        do {
            try core.loadStorage()
        } catch {
            lifecycle.withLock { $0 = .stopped }
            throw error
        }
        let configuration = core.configuration
        let stopping = self.stopping
        var logger = Logger(label: "ferry.simulator") { SimulatorLogHandler(label: $0, stopping: stopping) }
        logger.logLevel = configuration.logLevel
        let started = OneShot<Int>()
        let router = SimulatorRoutes(core: core).makeRouter()
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in
                started.succeed(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
        let task = Task {
            do {
                try await app.run()
                started.fail(SimulatorError.stoppedBeforeListening)
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

    /// Stops listening and closes open connections. Requests in flight get up to five seconds to
    /// finish first. Safe to call more than once, or when never started.
    public func stop() async {
        let task = lifecycle.withLock { state -> Task<Void, Never>? in
            guard case .running(let task, _) = state else { return nil }
            state = .stopped
            return task
        }
        guard let task else { return }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: Simulator.drainTimeout)
        while core.inFlight() > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        stopping.withLock { $0 = true }
        task.cancel()
        await task.value
        stopping.withLock { $0 = false }
    }

    /// The bound port while running, else 0.
    public var port: Int {
        lifecycle.withLock { state in
            if case .running(_, let port) = state { return port }
            return 0
        }
    }

    private var urlHost: String {
        let host = core.configuration.host
        if host == "0.0.0.0" || host == "::" || host.isEmpty { return "127.0.0.1" }
        return host.contains(":") ? "[\(host)]" : host
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL an OpenAI client uses.
    public var openAIBaseURL: String { "http://\(urlHost):\(port)/v1" }

    /// `http://127.0.0.1:PORT`: the Azure endpoint (clients append `/openai/files?api-version=…`).
    public var azureEndpoint: String { "http://\(urlHost):\(port)" }

    /// Request and fault counters since start (or the last reset).
    public func stats() -> SimulatorStats { core.stats() }

    public func resetStats() { core.resetStats() }

    /// Replaces the fault plan; a plan with a seed restarts its random sequence.
    public func setFaults(_ plan: FaultPlan) { core.setPlan(plan) }

    /// The fault plan in force.
    public var faults: FaultPlan { core.currentPlan() }

    /// A tenant's files, oldest first (by created_at, then id). Expired files are left out.
    public func files(apiKey: String, flavor: SimulatorFlavor = .openai) -> [SimulatedFile] {
        let now = SimulatorCore.now()
        return core.allFiles(TenantID(flavor: flavor, apiKey: apiKey))
            .filter { record in record.expiresAt.map { now < Double($0) } ?? true }
            .map { core.simulatedFile($0, now: now) }
    }

    /// The bytes of a tenant's file, or nil when there is no such file.
    public func fileContent(apiKey: String, flavor: SimulatorFlavor = .openai, id: String) -> [UInt8]? {
        let tenant = TenantID(flavor: flavor, apiKey: apiKey)
        guard core.file(tenant, id: id, now: SimulatorCore.now()) != nil, let content = core.content(of: tenant, id: id)
        else { return nil }
        return ContentReader.readAll(content)
    }

    /// Adds a file as if someone else had uploaded it (no request is counted, no fault applies).
    /// `createdAt` (unix seconds) defaults to now; a past value also makes the file visible despite list lag.
    @discardableResult
    public func seedFile(
        apiKey: String, flavor: SimulatorFlavor = .openai, filename: String, purpose: String, data: [UInt8],
        createdAt: Int64? = nil
    ) -> SimulatedFile {
        let tenant = TenantID(flavor: flavor, apiKey: apiKey)
        let id = core.reserveFileID(flavor: flavor)
        let sha = SHA256Hasher.hex(data)
        do {
            let record = try core.commitFile(
                tenant: tenant, id: id, filename: filename, purpose: purpose, content: .memory(ByteBuffer(bytes: data)),
                size: Int64(data.count), sha256: sha, createdAt: createdAt)
            return core.simulatedFile(record, now: SimulatorCore.now())
        } catch {
            preconditionFailure("Simulator.seedFile could not store \(filename): \(error)")
        }
    }

    /// Deletes a file out of band (as if someone else had deleted it). Unknown ids are ignored.
    public func removeFile(apiKey: String, flavor: SimulatorFlavor = .openai, id: String) {
        core.deleteFile(TenantID(flavor: flavor, apiKey: apiKey), id: id)
    }
}
