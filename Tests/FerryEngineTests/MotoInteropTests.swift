import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerrySimulator
import FerryTestSupport
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real S3 implementation: `moto_server` from PyPI's `moto[server]`, installed by scripts/test.sh into
/// .venv-test, on a free loopback port; stopped by PID.
final class MotoServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    /// The `moto_server` of the test venv (`FERRY_TEST_VENV`, else the repository's .venv-test).
    static var executable: String {
        let venv = ProcessInfo.processInfo.environment["FERRY_TEST_VENV"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".venv-test").path
        return venv + "/bin/moto_server"
    }

    static var installed: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// Whether a missing peer must fail the run rather than skip (scripts/test.sh and CI set these).
    static var required: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["FERRY_TEST_REQUIRE_POSTGRES"] != nil || environment["CI"] != nil
    }

    init() async throws {
        guard Self.installed else {
            throw TestFailure("moto_server is not installed at \(Self.executable); run the tests with scripts/test.sh")
        }
        port = try StorageEmulator.freePort()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.launchSerially()
        for _ in 0..<150 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/"), timeout: .seconds(1)),
                response.status.code < 500
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw TestFailure("moto_server did not start on port \(port)")
    }

    /// `PUT /{bucket}` (moto takes unsigned requests).
    func createBucket(_ name: String) async throws {
        var request = HTTPClientRequest(url: "\(url)/\(name)")
        request.method = .PUT
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status.code == 200 else { throw TestFailure("moto CreateBucket answered \(response.status)") }
    }

    /// `PUT /{bucket}/{key}` unsigned: someone else's object.
    func putObject(bucket: String, key: String, data: [UInt8]) async throws {
        var request = HTTPClientRequest(url: "\(url)/\(bucket)/\(key)")
        request.method = .PUT
        request.body = .bytes(ByteBuffer(bytes: data))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status.code == 200 else { throw TestFailure("moto PutObject answered \(response.status)") }
    }

    /// SIGTERM by PID, then SIGKILL if it has not gone within 3 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<30 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Ferry against a real S3 (moto_server): the engine end to end and the client's multipart and paging.
/// Skipped only when moto_server is not installed and no run requires the peers (FERRY_TEST_REQUIRE_POSTGRES, CI).
@Suite(
    "Bedrock over moto_server", .serialized,
    .enabled(
        if: MotoServer.installed || MotoServer.required,
        "moto_server is not installed in .venv-test: run scripts/test.sh (or pip install 'moto[server]' there)"))
struct MotoInteropTests {
    static let bucket = "ferry-moto"

    /// A client of the workspace's Bedrock endpoint on moto.
    static func client(_ moto: MotoServer, pageSize: Int = 1000, threshold: Int64? = nil) throws -> S3Client {
        let endpoint = Endpoint(
            kind: .bedrock, baseURL: moto.url, bucket: bucket + "/ferry", region: "us-west-2",
            credential: .environment("AWS_SECRET_ACCESS_KEY"))
        let credentials = SimulatorConfiguration.defaultS3Credentials.first!
        return try S3Client(
            endpoint: endpoint,
            credentials: AWSCredentials(accessKeyID: credentials.key, secretAccessKey: credentials.value),
            httpClient: .shared,
            configuration: ProviderClientConfiguration(pageSize: pageSize, largeFileThreshold: threshold))
    }

    /// Create, no-op, replace (same unified id), prune, a crash after create adopted, someone else's object kept:
    /// every step checked against moto's own listing and content.
    @Test func engineEndToEnd() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        try await moto.createBucket(Self.bucket)
        try await moto.putObject(bucket: Self.bucket, key: "litellm-bedrock-files/other.jsonl", data: Array("{}\n".utf8))
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace, bucket: Self.bucket, endpoint: moto.url)
        workspace.declare("handbook", models: ["claude-batch"])
        workspace.declare("faq", models: ["claude-batch"])
        let client = try Self.client(moto)

        #expect(try await workspace.reconcile().outcome == .converged)
        var listed = try await client.list().files
        #expect(listed.map(\.filename).sorted() == ["faq.md", "handbook.md"])
        let owned = try workspace.engine().store.ownedFiles()
        #expect(Set(owned.map(\.remoteID)) == Set(listed.map(\.id)))
        for file in listed {
            let head = try await client.retrieve(id: file.id)
            let record = try #require(owned.first { $0.remoteID == file.id })
            #expect(head.sha256 == record.digest && head.declaredName == record.file && file.sha256 == record.digest)
        }
        #expect(try await workspace.reconcile().applied == 0)

        let unified = owned.first { $0.file == "handbook" }?.unifiedID
        workspace.declare("handbook", models: ["claude-batch"], content: "revised handbook\n")
        workspace.remove("manifests/faq.yaml")
        #expect(try await workspace.reconcile().outcome == .converged)
        listed = try await client.list().files
        #expect(listed.count == 1 && listed[0].sha256 == SHA256Digest.hex("revised handbook\n"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-moto-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await client.content(id: listed[0].id, to: directory.path) == 17)
        #expect(FileManager.default.contents(atPath: directory.path) == Data("revised handbook\n".utf8))
        #expect(try workspace.engine().store.ownedFiles().first { $0.file == "handbook" }?.unifiedID == unified)

        workspace.declare("late", models: ["claude-batch"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(try await client.list().files.count == 2)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        listed = try await client.list().files
        #expect(listed.map(\.filename).sorted() == ["handbook.md", "late.md"])
        #expect(Set(try workspace.engine().store.ownedFiles().map(\.remoteID)) == Set(listed.map(\.id)))
        #expect(try workspace.engine().store.intents().isEmpty)
        #expect(try await workspace.plan().isEmpty)

        // Someone else's object, outside Ferry's prefix, is untouched.
        let other = try await client.retrieve(id: "s3://\(Self.bucket)/litellm-bedrock-files/other.jsonl")
        #expect(other.bytes == 3 && other.declaredName == nil)
    }

    /// Against moto: a multipart upload (parts of S3's 5 MiB minimum) completes into the exact bytes, and a listing
    /// follows moto's continuation tokens across pages.
    @Test func multipartAndPaging() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        try await moto.createBucket(Self.bucket)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-moto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SystemRandomNumberGenerator()
        let data = (0..<(11 * 1024 * 1024 + 5)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let source = directory.appendingPathComponent("big.jsonl").path
        _ = FileManager.default.createFile(atPath: source, contents: Data(data))
        var hasher = SHA256Digest()
        hasher.update(data)
        let digest = hasher.hexDigest()
        let client = try Self.client(moto, pageSize: 2, threshold: 1 << 20)
        let created = try await client.create(
            UploadRequest(
                sourcePath: source, filename: "big.jsonl", purpose: "batch", bytes: Int64(data.count),
                metadata: [RemoteFile.declaredNameKey: "big", RemoteFile.sha256Key: digest]))
        let head = try await client.retrieve(id: created.id)
        #expect(head.bytes == Int64(data.count) && head.declaredName == "big")
        let target = directory.appendingPathComponent("back").path
        #expect(try await client.content(id: created.id, to: target) == Int64(data.count))
        #expect(FileManager.default.contents(atPath: target) == Data(data))

        let small = directory.appendingPathComponent("small.jsonl").path
        _ = FileManager.default.createFile(atPath: small, contents: Data("{}\n".utf8))
        for index in 0..<4 {
            _ = try await client.create(UploadRequest(sourcePath: small, filename: "s\(index).jsonl", purpose: "batch", bytes: 3))
        }
        let listing = try await client.list()
        #expect(listing.files.count == 5)
        #expect(listing.pages == 3)
        try await client.delete(id: created.id)
        try await client.delete(id: created.id)
        #expect(try await client.list().files.count == 4)
    }
}
