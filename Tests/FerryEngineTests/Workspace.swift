import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway repository with manifests and sources, a simulator on 127.0.0.1, and a state file.
/// Each test gets its own; call `close()` at the end.
final class Workspace: @unchecked Sendable {
    let root: URL
    let statePath: String
    /// Where this workspace's state lives: `statePath` on SQLite, the test server's URL on PostgreSQL.
    let stateLocation: String
    /// The state workspace (`--workspace`): `default` on SQLite, a fresh name on PostgreSQL.
    let stateWorkspace: String
    let backend: StateBackend
    let simulator: Simulator
    let simulatorHost: ServiceHost
    let httpClient: HTTPClient
    static let openAIKey = "sk-test-openai-key"
    static let azureKey = "azure-test-key"

    /// - Parameter backend: where the state lives (`engine()` and `FerryProcess` use it).
    init(
        faults: FaultPlan = .none, gcsAuthentication: GCSAuthentication = .issuedTokens,
        backend: StateBackend = .sqlite, configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("manifests/docs"), withIntermediateDirectories: true)
        statePath = root.appendingPathComponent("state/state.sqlite").path
        self.backend = backend
        stateLocation = backend == .sqlite ? statePath : try backend.freshLocation()
        stateWorkspace = backend == .sqlite ? StateStores.defaultWorkspace : StateBackend.freshWorkspace()
        var configuration = SimulatorConfiguration(faults: faults, gcsAuthentication: gcsAuthentication)
        configure(&configuration)
        simulator = Simulator(configuration: configuration)
        simulatorHost = ServiceHost(simulator)
        _ = try await simulator.listeningPort()
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        write(
            "manifests/models.yaml",
            """
            model_list:
              - model_name: gpt-4o-mini
                litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, api_base: os.environ/OPENAI_API_BASE}
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY, api_base: os.environ/OPENAI_API_BASE}
              - model_name: azure-gpt-4o
                litellm_params: {model: azure/gpt-4o, api_key: os.environ/AZURE_API_KEY, api_base: os.environ/AZURE_API_BASE, api_version: "2024-10-21"}
            """)
    }

    /// Added to (and overriding) the environment Ferry runs with.
    var extraEnvironment: [String: String] = [:]

    var environment: [String: String] {
        [
            "OPENAI_API_KEY": Self.openAIKey, "OPENAI_API_BASE": simulator.openAIBaseURL,
            "AZURE_API_KEY": Self.azureKey, "AZURE_API_BASE": simulator.azureEndpoint,
        ].merging(extraEnvironment) { $1 }
    }

    func write(_ path: String, _ text: String) {
        let url = root.appendingPathComponent(path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8))
    }

    func remove(_ path: String) {
        try? FileManager.default.removeItem(at: root.appendingPathComponent(path))
    }

    /// Declares one File manifest named `name` with source `docs/<name>.md`.
    func declare(_ name: String, models: [String] = ["gpt-4o-mini", "gpt-4o", "azure-gpt-4o"], content: String? = nil, policy: String = "Delete") {
        write("manifests/docs/\(name).md", content ?? "# \(name)\n\nSome content for \(name).\n")
        write(
            "manifests/\(name).yaml",
            """
            apiVersion: ferry.dev/v1alpha1
            kind: File
            metadata: {name: \(name)}
            spec:
              source: docs/\(name).md
              purpose: assistants
              targetModels: [\(models.joined(separator: ", "))]
              deletionPolicy: \(policy)
            """)
    }

    /// An engine over this workspace; `statePath` names another state file (a new runner, a lost state).
    /// `store` uses a state of the test's choosing (a PostgreSQL workspace, say) instead.
    func engine(
        policy: PlanPolicy = PlanPolicy(), statePath: String? = nil, store: (any StateStore)? = nil,
        wrap: (@Sendable (any FileProvider) -> any FileProvider)? = nil,
        configure: (inout EngineConfiguration) -> Void = { _ in },
        report: @escaping @Sendable (EngineEvent) -> Void = { _ in }
    ) throws -> Engine {
        let store = try store
            ?? (statePath.map { try SQLiteStateStore(path: $0) }
                ?? StateStores.open(stateLocation, workspace: stateWorkspace))
        let client = httpClient
        let environment = self.environment
        var configuration = EngineConfiguration(
            root: root.appendingPathComponent("manifests").path, displayRoot: "manifests/", environment: environment,
            policy: policy)
        configuration.attachmentWait = AttachmentWait(timeout: 30, interval: 0.05)
        configure(&configuration)
        return try Engine(
            configuration: configuration,
            store: store,
            makeProvider: { endpoint, secret in
                let provider = try ProviderFactory.makeProvider(
                    endpoint: endpoint, apiKey: secret, httpClient: client, environment: environment)
                return wrap?(provider) ?? provider
            }, report: report)
    }

    /// One full converge pass, as `ferry reconcile` does it.
    @discardableResult
    func reconcile(policy: PlanPolicy = PlanPolicy()) async throws -> ReconcileReport {
        let engine = try engine(policy: policy)
        return try await engine.reconcile(try await engine.load())
    }

    func plan(policy: PlanPolicy = PlanPolicy()) async throws -> Plan {
        let engine = try engine(policy: policy)
        let inputs = try await engine.load()
        return try await engine.plan(inputs, try await engine.observe(inputs))
    }

    var openAIFiles: [SimulatedFile] { simulator.files(apiKey: Self.openAIKey, flavor: .openai) }
    var azureFiles: [SimulatedFile] { simulator.files(apiKey: Self.azureKey, flavor: .azure) }

    func close() async {
        try? await httpClient.shutdown()
        await simulatorHost.stopQuietly()
        try? FileManager.default.removeItem(at: root)
    }
}

/// Reads two pipes to their end at once (a process that fills one while the other is read would never exit).
func readToEnd(_ out: Pipe, _ err: Pipe) -> (out: Data, err: Data) {
    let errRead = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: errRead) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errRead.wait()
    return (outData, errData)
}

/// Runs the built `ferry` executable.
struct FerryProcess {
    struct Result {
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
    }

    static var executable: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ferry"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/ferry"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// Runs the executable on a thread of its own: waiting for it must not block the cooperative pool,
    /// which also serves the in-process simulator it talks to.
    /// - Parameters:
    ///   - killAfterMilliseconds: send SIGKILL after this long if the process is still running.
    ///   - killClockStarts: when given, the kill delay counts from the moment this first returns true (polled every
    ///     2 ms), e.g. the process's first provider request, so a slow start on a loaded machine does not turn every
    ///     kill into a kill before any work.
    static func run(
        _ arguments: [String], in workspace: Workspace, extraEnvironment: [String: String] = [:],
        killAfterMilliseconds: Int? = nil, killClockStarts: (@Sendable () -> Bool)? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result {
                        try runBlocking(
                            arguments, in: workspace, extraEnvironment: extraEnvironment,
                            killAfterMilliseconds: killAfterMilliseconds, killClockStarts: killClockStarts)
                    })
            }
        }
    }

    /// Longest a single `ferry` run may take in a test (the slowest, a chaos round under load, takes seconds).
    static let watchdogSeconds = 300

    static func runBlocking(
        _ arguments: [String], in workspace: Workspace, extraEnvironment: [String: String], killAfterMilliseconds: Int?,
        killClockStarts: (@Sendable () -> Bool)? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        // The workspace's state unless the test names another (a new runner, a lost state).
        var state = arguments.contains("--state") ? [] : ["--state", workspace.stateLocation]
        if workspace.backend != .sqlite && !arguments.contains("--state") && !arguments.contains("--workspace") {
            state += ["--workspace", workspace.stateWorkspace]
        }
        process.arguments = arguments + state + ["--manifests", workspace.root.appendingPathComponent("manifests").path]
        var environment = workspace.environment.merging(extraEnvironment) { $1 }
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.launchSerially()
        let pid = process.processIdentifier
        if let killAfterMilliseconds {
            Thread.detachNewThread {
                if let killClockStarts {
                    while process.isRunning && !killClockStarts() { usleep(2_000) }
                }
                usleep(useconds_t(killAfterMilliseconds * 1_000))
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        // A run that never ends must fail its test, not stall the suite: past the watchdog it is killed, and the
        // test sees a signaled result with a note on standard error.
        let watchdog = DispatchWorkItem { if process.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(watchdogSeconds), execute: watchdog)
        let (outData, errRead) = readToEnd(out, err)
        var errData = errRead
        process.waitUntilExit()
        let watchdogFired = watchdog.isCancelled == false && process.terminationReason == .uncaughtSignal
            && killAfterMilliseconds == nil && process.terminationStatus == SIGKILL
        watchdog.cancel()
        if watchdogFired {
            errData.append(Data("\n[test harness] ferry \(arguments.first ?? "") killed after \(watchdogSeconds) s\n".utf8))
        }
        return Result(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}
