import AsyncHTTPClient
import FerryCore
import FerryServer
import FerryStore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One HTTP answer, fully read.
struct Reply {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (records an issue when it is not one).
    var json: [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            Issue.record("body is not a JSON object: \(text)")
            return [:]
        }
        return object
    }

    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
    var ids: [String] { data.compactMap { $0["id"] as? String } }
}

enum Method: String, CaseIterable {
    case GET, HEAD, POST, PUT, DELETE, PATCH

    func apply(to request: inout HTTPClientRequest) {
        switch self {
        case .GET: request.method = .GET
        case .HEAD: request.method = .HEAD
        case .POST: request.method = .POST
        case .PUT: request.method = .PUT
        case .DELETE: request.method = .DELETE
        case .PATCH: request.method = .PATCH
        }
    }
}

/// Sends one request to 127.0.0.1 and reads the whole answer.
func send(
    _ method: Method = .GET, port: Int, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
) async throws -> Reply {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    method.apply(to: &request)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(body) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
    return Reply(
        status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
        body: Array(buffer.readableBytesView))
}

func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

/// Endpoints, files and times of the fixture database.
enum Fixture {
    static let openAI = Endpoint(
        kind: .openai, baseURL: "http://127.0.0.1:8089/v1", credential: .environment("OPENAI_API_KEY"))
    static let azure = Endpoint(
        kind: .azure, baseURL: "http://127.0.0.1:8090", apiVersion: "2024-10-21",
        credential: .environment("AZURE_API_KEY"))

    static let hostileName = "<script>alert(1)</script>.md"
    static let hostileFilename = "\"quotes\" & ampersands.md"
    static let quotedName = "\"quotes\" & ampersands"
    static let quotedFilename = "<img src=x onerror=alert(1)>.txt"

    static let handbook = DesiredFile(
        name: "employee-handbook", sourcePath: "sources/employee-handbook.md", bytes: 546, purpose: "assistants",
        filename: "employee-handbook.md", targetModels: ["gpt-4o", "gpt-4o-mini", "azure-gpt-4o"],
        labels: ["team": "people"])
    static let hostile = DesiredFile(
        name: hostileName, sourcePath: "sources/hostile.md", bytes: 10, purpose: "assistants",
        filename: hostileFilename, targetModels: ["gpt-4o"], labels: ["note": "a \"quoted\", value", "b": "2"])
    static let quoted = DesiredFile(
        name: quotedName, sourcePath: "sources/quoted.txt", bytes: 11, purpose: "assistants",
        filename: quotedFilename, targetModels: ["gpt-4o-mini"])
    static let billing = DesiredFile(
        name: "faq/billing.md", sourcePath: "faq/billing.md", bytes: 77, purpose: "user_data",
        filename: "billing.md", targetModels: ["gpt-4o-mini"], declaredBy: "FileSet")
    static let pending = DesiredFile(
        name: "pending-file", sourcePath: "sources/pending.md", bytes: 5, purpose: "assistants",
        filename: "pending.md", targetModels: ["azure-gpt-4o"], deletionPolicy: .retain)

    static let files = [handbook, hostile, quoted, billing, pending]

    static let models = [
        ModelDefinition(name: "gpt-4o", model: "openai/gpt-4o", provider: "openai", endpoint: openAI, origin: "m:1"),
        ModelDefinition(
            name: "gpt-4o-mini", model: "openai/gpt-4o-mini", provider: "openai", endpoint: openAI, origin: "m:2"),
        ModelDefinition(name: "azure-gpt-4o", model: "azure/gpt4o", provider: "azure", endpoint: azure, origin: "m:3"),
    ]

    static let placements = [
        PlacementStatus(
            file: "employee-handbook", endpointID: azure.id, models: ["azure-gpt-4o"], state: .inSync,
            remoteID: "assistant-bbb"),
        PlacementStatus(
            file: "employee-handbook", endpointID: openAI.id, models: ["gpt-4o", "gpt-4o-mini"], state: .inSync,
            remoteID: "file-aaa"),
        PlacementStatus(
            file: hostileName, endpointID: openAI.id, models: ["gpt-4o"], state: .outOfSync, remoteID: "file-ccc",
            pendingAction: .replace, detail: "content changed"),
        PlacementStatus(
            file: quotedName, endpointID: openAI.id, models: ["gpt-4o-mini"], state: .inSync, remoteID: "file-eee"),
        PlacementStatus(
            file: "faq/billing.md", endpointID: openAI.id, models: ["gpt-4o-mini"], state: .processing,
            remoteID: "file-ddd"),
        PlacementStatus(
            file: "pending-file", endpointID: azure.id, models: ["azure-gpt-4o"], state: .outOfSync,
            pendingAction: .create),
    ]

    static let plan = Plan(
        actions: [
            PlannedAction(
                kind: .replace, reason: .changed, file: hostileName, endpointID: openAI.id, replaces: ["file-ccc"],
                sourcePath: "sources/hostile.md", digest: "d1", bytes: 10, filename: hostileFilename,
                purpose: "assistants", deletionPolicy: .delete),
            PlannedAction(
                kind: .create, reason: .new, file: "pending-file", endpointID: azure.id,
                sourcePath: "sources/pending.md", digest: "d2", bytes: 5, filename: "pending.md",
                purpose: "assistants", deletionPolicy: .retain),
        ],
        placements: placements, endpoints: [], blocked: [], warnings: ["endpoint slow"], desiredFingerprint: "fp-1")

    /// The error recorded for the pending placement: a path and a key that must never be shown.
    static let pendingError =
        "HTTP 400 from /home/ci/work/secret.md: invalid purpose (Authorization: Bearer sk-live-abcdefghijklmnop)"
    static let pendingErrorShown = "HTTP 400 from <path>: invalid purpose (Authorization: Bearer <redacted>)"

    static let now = Date(timeIntervalSince1970: 1_700_000_400)

    static func owned(_ file: DesiredFile, _ endpoint: Endpoint, _ remoteID: String, createdAt: Int64) -> OwnedFile {
        OwnedFile(
            endpointID: endpoint.id, remoteID: remoteID, file: file.name, digest: "digest-\(remoteID)",
            bytes: file.bytes, filename: file.filename, purpose: file.purpose, createdAt: createdAt,
            deletionPolicy: file.deletionPolicy)
    }

    static func remote(
        _ id: String, _ filename: String, createdAt: Int64, purpose: String = "assistants", expiresAt: Int64? = nil
    ) -> RemoteFile {
        RemoteFile(id: id, filename: filename, bytes: 1, purpose: purpose, createdAt: createdAt, expiresAt: expiresAt)
    }

    /// When the provider deletes `file-ddd` by itself (OpenAI's `expires_at`).
    static let billingExpiresAt: Int64 = 1_700_086_450

    /// Observations: OpenAI lists four files (one unmanaged); Azure listed one, then failed to list.
    static func observe(_ store: any StateStore) throws {
        try store.recordObservation(
            EndpointObservation(
                endpointID: openAI.id,
                files: [
                    remote("file-aaa", "employee-handbook.md", createdAt: 1_700_000_100),
                    remote("file-ccc", hostileFilename, createdAt: 1_700_000_300),
                    remote(
                        "file-ddd", "billing.md", createdAt: 1_700_000_050, purpose: "user_data",
                        expiresAt: billingExpiresAt),
                    remote("file-eee", quotedFilename, createdAt: 1_700_000_150),
                    remote("file-zzz", "someone-elses-notes.txt", createdAt: 1_690_000_000),
                ], observedAt: 1_700_000_350),
            endpoint: openAI, pages: 1)
        try store.recordObservation(
            EndpointObservation(
                endpointID: azure.id,
                files: [remote("assistant-bbb", "employee-handbook.md", createdAt: 1_700_000_200)],
                observedAt: 1_700_000_340),
            endpoint: azure, pages: 1)
        try store.recordObservation(
            EndpointObservation(
                endpointID: azure.id, files: nil, error: "connection refused by 127.0.0.1:8090",
                observedAt: 1_700_000_360),
            endpoint: azure, pages: 0)
    }

    /// Fills a state database through StateStore's public write methods only.
    static func populate(_ store: any StateStore) throws {
        try observe(store)
        try store.recordOwned(owned(handbook, openAI, "file-aaa", createdAt: 1_700_000_100), closingIntent: nil, at: 1)
        try store.recordOwned(
            owned(handbook, azure, "assistant-bbb", createdAt: 1_700_000_200), closingIntent: nil, at: 1)
        try store.recordOwned(owned(hostile, openAI, "file-ccc", createdAt: 1_700_000_300), closingIntent: nil, at: 1)
        try store.recordOwned(owned(quoted, openAI, "file-eee", createdAt: 1_700_000_150), closingIntent: nil, at: 1)
        try store.recordOwned(owned(billing, openAI, "file-ddd", createdAt: 1_700_000_050), closingIntent: nil, at: 1)
        try store.saveSnapshot(
            desired: DesiredState(files: files, models: models),
            digests: ["sources/employee-handbook.md": "sha-handbook"], plan: plan,
            at: Fixture.now.timeIntervalSince1970)
        try store.recordPlacementError(
            file: "pending-file", endpointID: azure.id, action: "create", message: "first try failed",
            at: 1_700_000_370)
        try store.recordPlacementError(
            file: "pending-file", endpointID: azure.id, action: "create", message: pendingError, at: 1_700_000_380)
        let first = try store.startRun(command: "reconcile", at: 1_700_000_000)
        try store.finishRun(
            first, outcome: "converged", summary: "3 created.", applied: 3, failed: 0, requests: 7, at: 1_700_000_012.5)
        let second = try store.startRun(command: "apply", at: 1_700_000_100)
        try store.finishRun(
            second, outcome: "failed", summary: "1 failed: see /home/ci/work/log.txt", applied: 1, failed: 1,
            requests: 4, at: 1_700_000_103)
        try store.addRequestStats([
            RequestStatsRow(
                endpointID: openAI.id, operation: "list", requests: 5, failures: 1, retries: 2, latencySeconds: 1.25),
            RequestStatsRow(
                endpointID: openAI.id, operation: "create", requests: 3, failures: 0, retries: 0, latencySeconds: 0.5),
        ])
    }
}

/// A state database in a fresh temporary folder (or a fresh workspace of the test PostgreSQL server), written by a
/// read-write store, served by a read-only one.
final class TestDatabase: @unchecked Sendable {
    let directory: URL
    let path: String
    let writer: any StateStore
    /// `--state` and `--workspace` of this database: `path` and `default` on SQLite.
    let location: String
    let workspace: String

    init(backend: StateBackend = .sqlite) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("state.sqlite").path
        location = backend == .sqlite ? path : try backend.freshLocation()
        workspace = backend == .sqlite ? StateStores.defaultWorkspace : StateBackend.freshWorkspace()
        writer = try StateStores.open(location, workspace: workspace)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// Runs a status server over `database` (opened read-only, as `ferry serve` does) in a service group, and always
/// shuts it down gracefully.
func withServer<T>(
    _ database: TestDatabase, token: String? = nil, dashboardPlacementLimit: Int = 200,
    _ body: (Int) async throws -> T
) async throws -> T {
    let store = try StateStores.open(database.location, workspace: database.workspace, readOnly: true)
    let server = StatusServer(
        store: store,
        configuration: StatusServerConfiguration(
            host: "127.0.0.1", port: 0, bearerToken: token, dashboardPlacementLimit: dashboardPlacementLimit,
            now: { Fixture.now }))
    let host = ServiceHost(server)
    do {
        let result = try await body(try await server.listeningPort())
        try await host.stop()
        return result
    } catch {
        await host.stopQuietly()
        throw error
    }
}

/// A populated fixture database.
func populatedDatabase(_ backend: StateBackend = .sqlite) throws -> TestDatabase {
    let database = try TestDatabase(backend: backend)
    try Fixture.populate(database.writer)
    return database
}

/// A plain TCP connection to 127.0.0.1, for what an HTTP client library hides (keep-alive, half-sent requests).
final class RawConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed") }
        guard Self.connect(descriptor, port: port) else {
            close(descriptor)
            throw Failure(description: "cannot connect to 127.0.0.1:\(port)")
        }
    }

    deinit { close(descriptor) }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    static func isListening(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        return connect(descriptor, port: port)
    }

    private static func connect(_ descriptor: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw Failure(description: "short write") }
    }

    /// Sends a request and reads one answer (headers and a Content-Length body).
    func exchange(_ request: String) throws -> String {
        try write(request)
        var received: [UInt8] = []
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let headerEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headerEnd.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<headerEnd.upperBound].utf8.count >= length { return text }
            }
            guard let chunk = try read(timeout: .seconds(5)), !chunk.isEmpty else {
                throw Failure(description: "connection closed before the answer was complete: \(text)")
            }
            received += chunk
        }
    }

    /// Reads until the server closes the connection.
    func readToEnd(timeout: Duration) throws -> String {
        var received: [UInt8] = []
        while let chunk = try read(timeout: timeout), !chunk.isEmpty { received += chunk }
        return String(decoding: received, as: UTF8.self)
    }

    /// Bytes available within `timeout`; empty at end of stream.
    private func read(timeout: Duration) throws -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { throw Failure(description: "no data within \(timeout)") }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count < 0 { return [] }
        return Array(buffer.prefix(count))
    }
}
