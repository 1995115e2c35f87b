import FerryCore
import FerryServer
import FerrySimulator
import FerryStore
import Foundation
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The demo's last step: one chat request that names a unified id, sent through a real LiteLLM proxy with Ferry's
/// callback (integrations/litellm), and what the upstream received instead (docs/litellm.md).
struct LiteLLMDemo {
    /// The `litellm` executable (from `pip install 'litellm[proxy]==1.108.7'`).
    let executable: String
    let manifests: String
    let statePath: String
    /// The environment the demo ran Ferry with (simulator URLs and keys).
    let environment: [String: String]
    let console: Console

    /// How to try it, for a machine without LiteLLM.
    static let howTo = """

        Ferry's unified ids through a LiteLLM proxy: install LiteLLM and the callback, then run the demo with it:
          python3 -m venv .venv-litellm
          .venv-litellm/bin/pip install 'litellm[proxy]==1.108.7' ./integrations/litellm
          swift run ferry demo --litellm .venv-litellm/bin/litellm
        (docs/litellm.md)

        """

    /// Runs the step; false when a part of it failed (said on standard error).
    func run(simulator: Simulator) async -> Bool {
        let directory = NSTemporaryDirectory() + "ferry-demo-litellm-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try StateStores.open(statePath, readOnly: true)
            let server = StatusServer(store: store, configuration: StatusServerConfiguration(host: "127.0.0.1", port: 0))
            return try await withServices([server], logger: Logger(label: "ferry.demo.status")) {
                let statusURL = "http://127.0.0.1:\(try await server.listeningPort())"
                return try await request(simulator: simulator, statusURL: statusURL, directory: directory)
            }
        } catch {
            console.error("the LiteLLM step failed: \(error)")
            return false
        }
    }

    private func request(simulator: Simulator, statusURL: String, directory: String) async throws -> Bool {
        let config = directory + "/litellm.yaml"
        try Self.liteLLMConfig(manifests: manifests).write(toFile: config, atomically: true, encoding: .utf8)
        let port = try Self.freePort()
        var environment = self.environment
        environment["FERRY_URL"] = statusURL
        environment["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        environment["LITELLM_TELEMETRY_DISABLED"] = "True"
        // LiteLLM refuses to start without a master key; the demo's request sends it.
        let masterKey = "sk-" + (0..<4).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined()
        environment["LITELLM_MASTER_KEY"] = masterKey
        // The callback from this checkout when the demo runs in one; else it must be installed (pip).
        let callback = FileManager.default.currentDirectoryPath + "/integrations/litellm"
        if FileManager.default.fileExists(atPath: callback + "/ferry_litellm") {
            environment["PYTHONPATH"] = [callback, environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
        }
        let log = directory + "/litellm.log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw DemoFailure("cannot create \(log)") }
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? logHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", config, "--host", "127.0.0.1", "--port", "\(port)", "--num_workers", "1"]
        process.environment = environment
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { Self.stop(process) }
        let proxy = "http://127.0.0.1:\(port)"
        console.err("LiteLLM proxy on \(proxy) (pid \(process.processIdentifier)), Ferry's status view on \(statusURL)")
        guard try await waitUntilReady(proxy + "/health/liveliness", process: process) else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            console.error("LiteLLM did not start:\n\(output.suffix(3000))")
            return false
        }

        let unifiedID = UnifiedID.make(for: "employee-handbook")
        let model = "azure-gpt-4o"
        let body =
            #"{"model": "\#(model)", "messages": [{"role": "user", "content": [{"type": "text", "text": "Summarise"}, "#
            + #"{"type": "file", "file": {"file_id": "\#(unifiedID)"}}]}]}"#
        console.out(
            "\n$ curl \(proxy)/v1/chat/completions -H \"Authorization: Bearer $LITELLM_MASTER_KEY\" \\\n"
                + "    -H 'Content-Type: application/json' -d '\(body)'\n")
        simulator.resetStats()
        var request = URLRequest(url: URL(string: proxy + "/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(masterKey)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let reply = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let content = ((reply?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"]
        console.out("HTTP \(status): \(content as? String ?? String(decoding: data, as: UTF8.self))\n")
        let calls = simulator.modelCalls()
        for call in calls {
            console.out(
                "Upstream \(call.flavor.rawValue) (\(call.model)) received file id(s): "
                    + "\(call.fileIDs.joined(separator: ", ")) instead of \(unifiedID)\n")
        }
        let resolved = status == 200 && calls.count == 1 && !(calls.first?.fileIDs.contains(unifiedID) ?? true)
        if !resolved { console.error("the request was not resolved as expected") }
        return resolved
    }

    /// The manifests' LiteLLM config (the YAML file with a top-level `model_list:`) with Ferry's callback added to
    /// `litellm_settings`.
    static func liteLLMConfig(manifests: String) throws -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: manifests))?.sorted() ?? []
        for name in files where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            guard let text = try? String(contentsOfFile: manifests + "/" + name, encoding: .utf8),
                text.hasPrefix("model_list:") || text.contains("\nmodel_list:")
            else { continue }
            let callback = "  callbacks: [\"ferry_litellm.ferry_resolver\"]\n"
            if text.contains("\nlitellm_settings:\n") {
                return text.replacingOccurrences(of: "\nlitellm_settings:\n", with: "\nlitellm_settings:\n" + callback)
            }
            return text + (text.hasSuffix("\n") ? "" : "\n") + "litellm_settings:\n" + callback
        }
        throw DemoFailure("no LiteLLM config (a YAML file with model_list) in \(manifests)")
    }

    private func waitUntilReady(_ url: String, process: Process) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline, process.isRunning {
            var request = URLRequest(url: URL(string: url)!)
            request.timeoutInterval = 2
            if let (_, response) = try? await URLSession.shared.data(for: request),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// SIGTERM, then SIGKILL after 10 s.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<100 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw DemoFailure("cannot find a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
