import AsyncHTTPClient
import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// A real LiteLLM proxy (`litellm[proxy]==1.108.7`, installed into `.venv-test` by scripts/test.sh) with Ferry's
/// callback (`integrations/litellm`) in front of the simulator: requests that name a unified id reach each upstream
/// with that upstream's own file id. One proxy serves every check (it takes seconds to start).
@Suite("LiteLLM proxy resolves Ferry's unified ids", .serialized)
struct LiteLLMTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var venv: String {
        ProcessInfo.processInfo.environment["FERRY_TEST_VENV"] ?? repository.appendingPathComponent(".venv-test").path
    }

    @Test(.timeLimit(.minutes(10)))
    func unifiedIDsThroughLiteLLM() async throws {
        let litellm = Self.venv + "/bin/litellm"
        guard FileManager.default.isExecutableFile(atPath: litellm) else {
            throw TestFailure("litellm is not installed at \(litellm); run the tests with scripts/test.sh")
        }
        let workspace = try await Workspace(gcsAuthentication: .anonymous)
        let processes = BackgroundProcesses()
        // Stopped before the test returns, failed or not: a proxy left running would outlive the test process.
        do {
            try await check(workspace, litellm: litellm, processes: processes)
        } catch {
            await processes.stopAll()
            await workspace.close()
            throw error
        }
        await processes.stopAll()
        await workspace.close()
    }

    func check(_ workspace: Workspace, litellm: String, processes: BackgroundProcesses) async throws {

        // Ferry applies the example manifests to the simulator.
        try? FileManager.default.removeItem(at: workspace.root.appendingPathComponent("manifests"))
        try FileManager.default.copyItem(
            at: Self.repository.appendingPathComponent("manifests"), to: workspace.root.appendingPathComponent("manifests"))
        let token = "status-token-for-litellm"
        workspace.extraEnvironment = [
            "STORAGE_EMULATOR_HOST": workspace.simulator.gcsBaseURL, "GCS_BUCKET_NAME": "ferry-litellm",
            "FERRY_STATUS_TOKEN": token,
        ]
        _ = workspace.simulator.seedObject(
            bucket: "ferry-litellm", name: "elsewhere/readme.txt", data: Array("not Ferry's\n".utf8),
            createdAt: 1_700_000_000)
        let apply = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")

        let handbookID = UnifiedID.make(for: "employee-handbook")
        let openAIFile = try #require(
            workspace.simulator.files(apiKey: Workspace.openAIKey).first { $0.filename == "employee-handbook.md" }?.id)
        let azureFile = try #require(
            workspace.simulator.files(apiKey: Workspace.azureKey, flavor: .azure)
                .first { $0.filename == "employee-handbook.md" }?.id)
        #expect(openAIFile != azureFile)

        // The status view, behind a token.
        let serve = try BackgroundFerry(
            ["serve", "--listen", "127.0.0.1:0", "--state", workspace.statePath], in: workspace, plain: true)
        processes.add(serve)
        let statusURL = try await serve.statusURL()

        // LiteLLM with the same models.yaml plus the callback.
        let models = try String(
            contentsOf: workspace.root.appendingPathComponent("manifests/models.yaml"), encoding: .utf8)
        #expect(models.contains("\nlitellm_settings:\n"))
        let config = workspace.root.appendingPathComponent("litellm.yaml")
        try models.replacingOccurrences(
            of: "\nlitellm_settings:\n", with: "\nlitellm_settings:\n  callbacks: [\"ferry_litellm.ferry_resolver\"]\n"
        ).write(to: config, atomically: true, encoding: .utf8)
        let port = try StorageEmulator.freePort()
        var environment = workspace.environment
        environment["FERRY_URL"] = statusURL
        environment["FERRY_TOKEN"] = token
        environment["PYTHONPATH"] = Self.repository.appendingPathComponent("integrations/litellm").path
        environment["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        environment["LITELLM_TELEMETRY_DISABLED"] = "True"
        environment["NO_DOCS"] = "True"
        // LiteLLM refuses to start without a master key; clients send it as their API key.
        let masterKey = "sk-" + (0..<4).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined()
        environment["LITELLM_MASTER_KEY"] = masterKey
        let proxy = try BackgroundFerry(
            executable: URL(fileURLWithPath: litellm),
            arguments: ["--config", config.path, "--host", "127.0.0.1", "--port", "\(port)", "--num_workers", "1"],
            environment: environment, directory: workspace.root)
        processes.add(proxy)
        let proxyURL = "http://127.0.0.1:\(port)"
        try await waitUntilReady(proxyURL + "/health/liveliness", process: proxy)

        // Requests through the official OpenAI SDK: one model on OpenAI, one on Azure, a name balanced over both,
        // the Responses API, and an id Ferry does not declare.
        workspace.simulator.resetStats()
        let client = try await runPython(
            [
                Self.repository.appendingPathComponent("scripts/litellm_e2e_client.py").path, "--base-url", proxyURL,
                "--api-key", masterKey,
                "--id", handbookID, "--model", "openai=gpt-4o-mini", "--model", "azure=azure-gpt-4o",
                "--pool", "gpt-4o-balanced", "--pool-requests", "20", "--responses", "gpt-4o-mini",
                "--unknown", "file-ferry-000000000000000000000000",
            ])
        let records = client.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(client.status == 0, "\(client.stdout)\n\(client.stderr)\nLiteLLM:\n\(proxy.stderr.suffix(4000))")
        func texts(_ call: String) -> [String] { records.filter { $0["call"] as? String == call }.compactMap { $0["text"] as? String } }
        #expect(texts("openai") == ["Received files: \(openAIFile)"])
        #expect(texts("azure") == ["Received files: \(azureFile)"])
        #expect(texts("responses") == ["Received files: \(openAIFile)"])
        let pool: Set<String> = Set(texts("pool"))
        let both: Set<String> = ["Received files: \(openAIFile)", "Received files: \(azureFile)"]
        #expect(pool == both)

        // What each upstream received: its own id, never a unified one; the unknown id reached no upstream.
        let calls = workspace.simulator.modelCalls()
        let expectedCalls = 23  // openai, azure, 20 balanced, responses; none for the unknown id
        #expect(calls.count == expectedCalls, "\(calls)")
        for call in calls {
            #expect(call.status == 200, "\(call)")
            let expected: String = call.flavor == .azure ? azureFile : openAIFile
            #expect(call.fileIDs == [expected], "\(call)")
        }
        let responsesFlavors: Set<SimulatorFlavor> = Set(calls.filter { $0.api == "responses" }.map(\.flavor))
        let flavors: Set<SimulatorFlavor> = Set(calls.map(\.flavor))
        #expect(responsesFlavors == [.openai])
        #expect(flavors == [.openai, .azure])
        let unknown = try #require(records.first { $0["call"] as? String == "unknown" })
        #expect(unknown["ok"] as? Bool == false)
        let message = unknown["error"] as? String ?? ""
        #expect(message.contains("file-ferry-000000000000000000000000"), "\(message)")
        #expect(message.contains("file_not_found"), "\(message)")
    }

    /// Polls `url` until it answers 200, or fails with the process's output when it exits or 180 s pass.
    func waitUntilReady(_ url: String, process: BackgroundFerry) async throws {
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            if let page = try? await fetch(url), page.status == 200 { return }
            guard process.process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw TestFailure("LiteLLM did not become ready at \(url):\n\(process.stdout)\n\(process.stderr)")
    }

    /// Runs the venv's python with `arguments`, on a thread of its own (it talks to the in-process simulator).
    func runPython(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let python = Self.venv + "/bin/python"
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: python)
                    process.arguments = arguments
                    let out = Pipe()
                    let err = Pipe()
                    process.standardOutput = out
                    process.standardError = err
                    process.standardInput = FileHandle.nullDevice
                    try process.launchSerially()
                    let (outData, errData) = readToEnd(out, err)
                    process.waitUntilExit()
                    continuation.resume(
                        returning: (
                            process.terminationStatus, String(decoding: outData, as: UTF8.self),
                            String(decoding: errData, as: UTF8.self)
                        ))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// Long-running peers a test started, stopped together (by pid) when it ends.
final class BackgroundProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var running: [BackgroundFerry] = []

    func add(_ process: BackgroundFerry) { lock.withLock { running.append(process) } }

    func stopAll() async {
        let all = lock.withLock { () -> [BackgroundFerry] in
            defer { running = [] }
            return running
        }
        for process in all.reversed() { await process.stop() }
    }
}
