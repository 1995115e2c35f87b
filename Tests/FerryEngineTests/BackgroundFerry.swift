import AsyncHTTPClient
import FerryEngine
import FerryTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running `ferry` process (`serve`, `reconcile --interval --listen`) whose output is collected while it
/// runs. Stop it with `stop()` (SIGTERM to its pid, then SIGKILL after 10 s).
final class BackgroundFerry: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    /// Starts `ferry arguments…` with the workspace's environment (and `--state`/`--manifests` unless `plain`).
    convenience init(_ arguments: [String], in workspace: Workspace, plain: Bool = false) throws {
        var environment = workspace.environment
        environment["NO_COLOR"] = "1"
        try self.init(
            executable: FerryProcess.executable,
            arguments: plain
                ? arguments
                : arguments + [
                    "--state", workspace.statePath, "--manifests", workspace.root.appendingPathComponent("manifests").path,
                ],
            environment: environment, directory: workspace.root)
    }

    /// Starts any program (a peer such as a LiteLLM proxy) with `environment` plus this process's `PATH`.
    init(executable: URL, arguments: [String], environment: [String: String], directory: URL) throws {
        process.executableURL = executable
        process.arguments = arguments
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        process.environment = environment
        process.currentDirectoryURL = directory
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            // End of file: stop being called (Foundation keeps calling with empty data otherwise).
            if data.isEmpty { handle.readabilityHandler = nil }
            self?.lock.withLock { self?.out.append(data) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            // End of file: stop being called (Foundation keeps calling with empty data otherwise).
            if data.isEmpty { handle.readabilityHandler = nil }
            self?.lock.withLock { self?.err.append(data) }
        }
        try process.launchSerially()
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// The status view's base URL once the process has printed `Status view on http://HOST:PORT/`.
    func statusURL(timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdout + stderr
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                return String(text[range])
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no status view address in the output of ferry:\n\(stdout)\n\(stderr)")
    }

    /// SIGTERM to this process only, then SIGKILL if it is still running after 10 s; waits for the exit.
    @discardableResult
    func stop() async -> Int32 {
        let pid = process.processIdentifier
        if process.isRunning { kill(pid, SIGTERM) }
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(pid, SIGKILL) }
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        try? await Task.sleep(for: .milliseconds(100))
        for pipe in [process.standardOutput, process.standardError].compactMap({ $0 as? Pipe }) {
            pipe.fileHandleForReading.readabilityHandler = nil
            let rest = (try? pipe.fileHandleForReading.readToEnd()) ?? nil
            if let rest, !rest.isEmpty {
                lock.withLock {
                    if pipe === process.standardOutput as? Pipe { out.append(rest) } else { err.append(rest) }
                }
            }
        }
        return process.isRunning ? -1 : process.terminationStatus
    }
}

/// One answer of an HTTP GET, read whole.
struct FetchedPage {
    var url: String
    var status: Int
    var headers: String
    var body: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
    }
}

func fetch(_ url: String, headers: [(String, String)] = [], client: HTTPClient = .shared) async throws -> FetchedPage {
    var request = HTTPClientRequest(url: url)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    let response = try await client.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 64 << 20)
    return FetchedPage(
        url: url, status: Int(response.status.code),
        headers: response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n"),
        body: String(decoding: body.readableBytesView, as: UTF8.self))
}
