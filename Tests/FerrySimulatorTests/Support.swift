import AsyncHTTPClient
import FerryTestSupport
import Foundation
import Testing

@testable import FerrySimulator

/// One HTTP answer, fully read.
struct Reply {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (fails the test when it is not one).
    var json: [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            Issue.record("body is not a JSON object: \(text)")
            return [:]
        }
        return object
    }

    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }

    /// `data` of a list answer.
    var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
    var ids: [String] { data.compactMap { $0["id"] as? String } }
}

enum Method: String {
    case GET, POST, PUT, DELETE
}

func send(
    _ method: Method, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
    timeout: Duration = .seconds(60)
) async throws -> Reply {
    var request = HTTPClientRequest(url: url)
    switch method {
    case .GET: request.method = .GET
    case .POST: request.method = .POST
    case .PUT: request.method = .PUT
    case .DELETE: request.method = .DELETE
    }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(body) }
    let response = try await HTTPClient.shared.execute(
        request, timeout: .milliseconds(Int64(timeout.components.seconds * 1000)))
    let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
    return Reply(
        status: Int(response.status.code),
        headers: response.headers.map { ($0.name, $0.value) },
        body: Array(buffer.readableBytesView)
    )
}

/// A multipart/form-data body with exactly the bytes a test wants (quoting included).
struct Multipart {
    let boundary = "----ferry-test-\(UUID().uuidString)"
    private(set) var bytes: [UInt8] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    /// `dispositionFilename` is written verbatim after `filename=` (quote it yourself).
    mutating func file(_ name: String, dispositionFilename: String, data: [UInt8], type: String = "application/octet-stream") {
        bytes += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\(dispositionFilename)\r\nContent-Type: \(type)\r\n\r\n"
                .utf8)
        bytes += data
        bytes += Array("\r\n".utf8)
    }

    mutating func file(_ name: String = "file", filename: String, data: [UInt8]) {
        let escaped = filename.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        file(name, dispositionFilename: "\"\(escaped)\"", data: data)
    }

    func finished() -> [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }
}

/// Runs a simulator for one test (under a `ServiceHost`) and always shuts it down.
func withSimulator<T>(
    _ configuration: SimulatorConfiguration = .init(), _ body: (Simulator) async throws -> T
) async throws -> T {
    let simulator = Simulator(configuration: configuration)
    let host = ServiceHost(simulator)
    do {
        _ = try await simulator.listeningPort()
        let result = try await body(simulator)
        try await host.stop()
        return result
    } catch {
        await host.stopQuietly()
        throw error
    }
}

/// Runs `simulator` (created by the test) for `body` only.
func withSimulatorHost<T>(_ simulator: Simulator, _ body: () async throws -> T) async throws -> T {
    let host = ServiceHost(simulator)
    do {
        _ = try await simulator.listeningPort()
        let result = try await body()
        try await host.stop()
        return result
    } catch {
        await host.stopQuietly()
        throw error
    }
}

func bearer(_ key: String) -> [(String, String)] { [("Authorization", "Bearer \(key)")] }

/// POST /v1/files (or the Azure route when `azureVersion` is set).
func upload(
    _ simulator: Simulator, key: String, filename: String, purpose: String = "assistants", data: [UInt8],
    azureVersion: String? = nil
) async throws -> Reply {
    var form = Multipart()
    form.field("purpose", purpose)
    form.file(filename: filename, data: data)
    if let azureVersion {
        return try await send(
            .POST, "\(simulator.azureEndpoint)/openai/files?api-version=\(azureVersion)",
            headers: [("api-key", key), ("Content-Type", form.contentType)], body: form.finished())
    }
    return try await send(
        .POST, "\(simulator.openAIBaseURL)/files", headers: bearer(key) + [("Content-Type", form.contentType)],
        body: form.finished())
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "ferry-sim-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func matches(_ string: String, _ pattern: String) -> Bool {
    string.range(of: pattern, options: .regularExpression) != nil
}
