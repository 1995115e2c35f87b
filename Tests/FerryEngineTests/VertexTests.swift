import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerryProviders
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing
import _CryptoExtras

#if canImport(Glibc)
    import Glibc
#endif

/// Declares a Vertex AI model `gemini` whose files live in `bucket`, reached at `apiBase` (or STORAGE_EMULATOR_HOST).
func addVertexModel(to workspace: Workspace, bucket: String, apiBase: String? = nil) {
    var params = "{model: vertex_ai/gemini-2.0-flash, vertex_project: test-project, gcs_bucket_name: \(bucket)"
    if let apiBase { params += ", api_base: \"\(apiBase)\"" }
    workspace.write("manifests/vertex.yaml", "model_list:\n  - model_name: gemini\n    litellm_params: \(params)}\n")
}

/// Writes a freshly generated service-account key whose token_uri is the simulator's, and registers its public
/// half with the simulator, so every token exchange is a real RS256 signature check.
func installServiceAccount(in workspace: Workspace) throws {
    let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    let email = "ferry-test@test-project.iam.gserviceaccount.com"
    try workspace.simulator.registerServiceAccount(email: email, pem: key.pemRepresentation)
    let json: [String: String] = [
        "type": "service_account", "project_id": "test-project", "private_key_id": "k1",
        "private_key": key.pemRepresentation, "client_email": email, "token_uri": workspace.simulator.tokenURL,
    ]
    let path = workspace.root.appendingPathComponent("sa-key.json")
    try JSONSerialization.data(withJSONObject: json).write(to: path)
    workspace.extraEnvironment["GOOGLE_APPLICATION_CREDENTIALS"] = path.path
}

@Suite("Vertex AI over Cloud Storage", .serialized)
struct VertexTests {
    /// Create, no-op, replace, prune on the simulator, authenticated with a service-account key (RS256 JWT).
    @Test func lifecycleWithServiceAccount() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        try installServiceAccount(in: workspace)
        addVertexModel(to: workspace, bucket: "ferry-test", apiBase: workspace.simulator.gcsBaseURL)
        _ = workspace.simulator.seedObject(bucket: "ferry-test", name: "other/data.csv", data: Array("a,b\n".utf8))
        workspace.declare("handbook", models: ["gemini"])
        workspace.declare("faq", models: ["gemini"])

        #expect(try await workspace.reconcile().outcome == .converged)
        var objects = workspace.simulator.objects(bucket: "ferry-test").map(\.filename)
        #expect(objects.count == 3)
        #expect(objects.filter { $0.hasPrefix("ferry/assistants/") }.count == 2)
        let stats = workspace.simulator.stats()
        #expect(stats.requests["POST /token"] == 1)

        workspace.simulator.resetStats()
        let second = try await workspace.reconcile()
        #expect(second.applied == 0)
        #expect(workspace.simulator.stats().requests == ["GET /storage/v1/b/{bucket}/o": 1, "POST /token": 1])

        let before = Set(workspace.simulator.objects(bucket: "ferry-test").map(\.filename))
        workspace.declare("handbook", models: ["gemini"], content: "new handbook\n")
        workspace.remove("manifests/faq.yaml")
        let plan = try await workspace.plan()
        #expect(plan.actions.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.delete, .replace])
        #expect(try await workspace.reconcile().outcome == .converged)
        objects = workspace.simulator.objects(bucket: "ferry-test").map(\.filename)
        #expect(objects.count == 2)
        #expect(objects.contains("other/data.csv"))
        let handbook = try #require(objects.first { $0.hasSuffix("/handbook.md") })
        #expect(!before.contains(handbook))
        #expect(workspace.simulator.objectContent(bucket: "ferry-test", name: handbook) == Array("new handbook\n".utf8))
        let owned = try workspace.engine().store.ownedFiles()
        #expect(owned.map(\.remoteID) == ["gs://ferry-test/\(handbook)"])
    }

    /// Objects carry Ferry's metadata (declared name, SHA-256), written at upload; a lost state imports them as
    /// content matches from the listing alone, without downloading them, and the next plan has no changes.
    @Test func metadataProvesImportsWithoutDownloads() async throws {
        let workspace = try await emulatorWorkspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gemini"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let digest = try #require(try workspace.engine().store.ownedFiles().first?.digest)

        let fresh = try workspace.engine(statePath: workspace.root.appendingPathComponent("lost.sqlite").path)
        let refused = try await fresh.planPass().plan
        let untracked = try #require(refused.untracked?.first)
        #expect(untracked.remote.sha256 == digest)
        #expect(untracked.remote.declaredName == "handbook")
        #expect(refused.blocked.count == 1)

        workspace.simulator.resetStats()
        let imported = try await fresh.importPass()
        #expect(imported.plan.actions.map(\.reason) == [.contentMatch])
        #expect(workspace.simulator.stats().requests.keys.sorted() == ["GET /storage/v1/b/{bucket}/o"])
        #expect(try await fresh.planPass().plan.isEmpty)
        #expect(workspace.simulator.objects(bucket: "ferry-test").count == 2)
    }

    /// Killed after an object was stored and before it was recorded, the next run adopts the object.
    @Test func crashAfterUploadIsAdopted() async throws {
        let workspace = try await emulatorWorkspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gemini"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(workspace.simulator.objects(bucket: "ferry-test").count == 2)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let objects = workspace.simulator.objects(bucket: "ferry-test").filter { $0.filename.hasPrefix("ferry/") }
        #expect(objects.count == 1)
        #expect(try workspace.engine().store.ownedFiles().map(\.remoteID) == objects.map { "gs://ferry-test/\($0.filename)" })
    }

    /// Once a bucket's listing is large enough to cut, the next pass lists its name ranges at once (one page per
    /// range here) and plans exactly what one chain gives; against a server that ignores the ranges, the engine's
    /// client lists in one chain, then keeps to it.
    @Test func largeBucketsAreListedInRanges() async throws {
        let workspace = try await emulatorWorkspace()
        defer { Task { await workspace.close() } }
        for index in 0..<9 { workspace.declare("doc\(index)", models: ["gemini"]) }
        #expect(try await workspace.reconcile().outcome == .converged)
        let listRoute = "GET /storage/v1/b/{bucket}/o"
        func engine() throws -> Engine { try workspace.engine(configure: { $0.listingParts = (count: 3, minimumFiles: 2) }) }

        workspace.simulator.resetStats()
        let ranged = try await engine().planPass().plan
        #expect(ranged.isEmpty && ranged.placements.count == 9)
        #expect(workspace.simulator.stats().requests[listRoute] == 3)

        workspace.simulator.setFaults(FaultPlan(gcsIgnoreOffsets: true))
        let engine = try engine()
        #expect(try await engine.planPass().plan.isEmpty)
        workspace.simulator.resetStats()
        #expect(try await engine.planPass().plan.isEmpty)
        #expect(workspace.simulator.stats().requests[listRoute] == 1)
    }

    /// One file targeting an OpenAI model, an Azure deployment and a Vertex model converges in one `ferry apply`.
    @Test func oneApplyThreeProviders() async throws {
        let workspace = try await emulatorWorkspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o", "gemini"])
        let apply = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete: 3 created, 0 replaced, 0 deleted."))
        #expect(workspace.openAIFiles.count == 1)
        #expect(workspace.azureFiles.count == 1)
        #expect(workspace.simulator.objects(bucket: "ferry-test").count == 2)
        let plan = try await FerryProcess.run(["plan", "--detailed-exitcode"], in: workspace)
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("No changes. 3 placements in sync."))
    }
}

/// A workspace whose model `gemini` reaches the simulator's Cloud Storage as an emulator (STORAGE_EMULATOR_HOST,
/// anonymous), in bucket `ferry-test`, which already holds an object Ferry does not own (`other/data.csv`).
func emulatorWorkspace() async throws -> Workspace {
    let workspace = try await Workspace(gcsAuthentication: .anonymous)
    workspace.extraEnvironment["STORAGE_EMULATOR_HOST"] = workspace.simulator.gcsBaseURL
    addVertexModel(to: workspace, bucket: "ferry-test")
    _ = workspace.simulator.seedObject(bucket: "ferry-test", name: "other/data.csv", data: Array("a,b\n".utf8))
    return workspace
}

/// The real `gcp-storage-emulator` from PyPI, installed by scripts/test.sh into .venv-test.
final class StorageEmulator: @unchecked Sendable {
    let process = Process()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(bucket: String) async throws {
        let venv = ProcessInfo.processInfo.environment["FERRY_TEST_VENV"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".venv-test").path
        let executable = venv + "/bin/gcp-storage-emulator"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestFailure("gcp-storage-emulator is not installed at \(executable); run the tests with scripts/test.sh")
        }
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["start", "--host", "127.0.0.1", "--port", "\(port)", "--in-memory", "--default-bucket", bucket, "-q"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.launchSerially()
        // Wait until it answers.
        let client = HTTPClient.shared
        for _ in 0..<100 {
            if let response = try? await client.execute(HTTPClientRequest(url: url + "/storage/v1/b"), timeout: .seconds(1)),
                response.status.code < 500
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw TestFailure("gcp-storage-emulator did not start on port \(port)")
    }

    /// SIGTERM, then SIGKILL if it has not gone within 3 s (its server thread can outlive SIGTERM).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<30 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<30 where process.isRunning { usleep(100_000) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

@Suite("Interop with gcp-storage-emulator", .serialized)
struct StorageEmulatorInteropTests {
    /// Create, no-op, replace, prune and adopt against a real Cloud Storage emulator, not Ferry's own simulator.
    @Test func lifecycle() async throws {
        let emulator = try await StorageEmulator(bucket: "ferry-interop")
        defer { emulator.stop() }
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.extraEnvironment["STORAGE_EMULATOR_HOST"] = emulator.url
        addVertexModel(to: workspace, bucket: "ferry-interop")
        workspace.declare("handbook", models: ["gemini"])
        workspace.declare("faq", models: ["gemini"])

        func objects() async throws -> [String] {
            let client = HTTPClient.shared
            let response = try await client.execute(
                HTTPClientRequest(url: emulator.url + "/storage/v1/b/ferry-interop/o"), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            return ((json?["items"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.sorted()
        }

        #expect(try await workspace.reconcile().outcome == .converged)
        let first = try await objects()
        #expect(first.count == 2)
        #expect(first.allSatisfy { $0.hasPrefix("ferry/assistants/") })
        #expect(try await workspace.plan().isEmpty)

        workspace.declare("handbook", models: ["gemini"], content: "revised\n")
        #expect(try await workspace.reconcile().outcome == .converged)
        let second = try await objects()
        #expect(second.count == 2)
        #expect(Set(second).intersection(first).count == 1)

        workspace.remove("manifests/faq.yaml")
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(try await objects().count == 1)

        workspace.declare("manual", models: ["gemini"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(try await objects().count == 2)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try await objects().count == 2)
        #expect(try workspace.engine().store.ownedFiles().count == 2)
    }

    /// The emulator ignores `startOffset`/`endOffset` (and pages): a listing asked for in ranges notices, and gives
    /// what one listing gives.
    @Test func rangesAgainstAServerThatIgnoresThem() async throws {
        let emulator = try await StorageEmulator(bucket: "ferry-interop")
        defer { emulator.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-ranges-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = try ProviderFactory.makeProvider(
            endpoint: Endpoint(
                kind: .vertex, baseURL: "https://us-central1-aiplatform.googleapis.com", bucket: "ferry-interop/ferry",
                credential: .none),
            apiKey: Secret("unused"), httpClient: HTTPClient.shared,
            environment: ["STORAGE_EMULATOR_HOST": emulator.url])
        #expect(client.listsIDRanges)
        for index in 0..<5 {
            let path = directory.appendingPathComponent("doc\(index).md").path
            try Data("document \(index)\n".utf8).write(to: URL(fileURLWithPath: path))
            _ = try await client.create(
                UploadRequest(sourcePath: path, filename: "doc\(index).md", purpose: "assistants", bytes: 11))
        }
        let chain = try await client.list()
        #expect(chain.files.count == 5)
        let cuts = [chain.files[1].id, chain.files[3].id]
        #expect(try await client.list(splitAt: cuts).files == chain.files)
        #expect(try await client.list(splitAt: cuts).files == chain.files)
    }
}
