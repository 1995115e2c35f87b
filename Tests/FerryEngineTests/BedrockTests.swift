import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import Foundation
import Testing

/// Adds `claude-batch` (a bedrock/ model) whose batch files live in `bucket` (Ferry's prefix `ferry/`), reached at
/// `endpoint` (the simulator's S3 flavor unless given), with AWS keys from the standard environment variables.
func addBedrockModel(to workspace: Workspace, bucket: String = "ferry-batch", endpoint: String? = nil) {
    let credentials = SimulatorConfiguration.defaultS3Credentials.first!
    workspace.extraEnvironment["AWS_ACCESS_KEY_ID"] = credentials.key
    workspace.extraEnvironment["AWS_SECRET_ACCESS_KEY"] = credentials.value
    workspace.extraEnvironment["FERRY_TEST_S3_ENDPOINT"] = endpoint ?? workspace.simulator.s3Endpoint
    if endpoint == nil { workspace.simulator.createS3Bucket(bucket) }
    workspace.write(
        "manifests/bedrock.yaml",
        """
        model_list:
          - model_name: claude-batch
            litellm_params:
              model: bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0
              aws_region_name: us-west-2
              s3_bucket_name: \(bucket)
              s3_endpoint_url: os.environ/FERRY_TEST_S3_ENDPOINT
        """)
}

extension Workspace {
    static let bedrockBucket = "ferry-batch"
    /// The simulator's objects under Ferry's prefix in the Bedrock bucket.
    var bedrockObjects: [SimulatedS3Object] {
        simulator.s3Objects(bucket: Self.bedrockBucket).filter { $0.key.hasPrefix("ferry/") }
    }
}

@Suite("Bedrock batch files over S3", .serialized)
struct BedrockTests {
    /// Create, no-op (one listing), replace (create before delete, same unified id), prune; objects outside Ferry's
    /// prefix and someone else's object inside it are left alone.
    @Test func lifecycle() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace)
        workspace.simulator.seedS3Object(bucket: "ferry-batch", key: "litellm-bedrock-files/x.jsonl", data: [1])
        workspace.simulator.seedS3Object(
            bucket: "ferry-batch", key: "ferry/assistants/0000000000000000/handbook.md", data: [2],
            lastModified: 1_700_000_000)
        workspace.declare("handbook", models: ["claude-batch", "gpt-4o-mini"])
        workspace.declare("faq", models: ["claude-batch"])

        #expect(try await workspace.reconcile().outcome == .converged)
        let first = workspace.bedrockObjects.filter { !$0.key.hasPrefix("ferry/assistants/0000") }
        #expect(first.map { $0.key.split(separator: "/").last! }.sorted() == ["faq.md", "handbook.md"])
        #expect(first.allSatisfy { $0.metadata["ferry-sha256"] == $0.sha256 && $0.key.contains("/\($0.sha256)-") })
        #expect(Set(first.compactMap { $0.metadata["ferry-name"] }) == ["faq", "handbook"])
        let owned = try workspace.engine().store.ownedFiles().filter { $0.endpointID.hasPrefix("bedrock|") }
        #expect(Set(owned.map(\.remoteID)) == Set(first.map { "s3://ferry-batch/\($0.key)" }))

        workspace.simulator.resetStats()
        #expect(try await workspace.reconcile().applied == 0)
        #expect(workspace.simulator.stats().requests["GET /s3/{bucket}?list-type=2"] == 1)
        #expect(workspace.simulator.stats().requests.keys.filter { $0.contains("/s3/") }.count == 1)

        let unified = try workspace.engine().store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID)
        workspace.declare("handbook", models: ["claude-batch", "gpt-4o-mini"], content: "revised\n")
        workspace.remove("manifests/faq.yaml")
        #expect(try await workspace.reconcile().outcome == .converged)
        let second = workspace.bedrockObjects.filter { !$0.key.hasPrefix("ferry/assistants/0000") }
        #expect(second.count == 1)
        #expect(second[0].sha256 == SHA256Digest.hex("revised\n"))
        #expect(workspace.simulator.s3ObjectContent(bucket: "ferry-batch", key: second[0].key) == Array("revised\n".utf8))
        #expect(try workspace.engine().store.ownedFiles().filter { $0.file == "handbook" }.map(\.unifiedID) == unified)
        #expect(workspace.simulator.s3Objects(bucket: "ferry-batch").contains { $0.key == "litellm-bedrock-files/x.jsonl" })
        #expect(workspace.simulator.s3Objects(bucket: "ferry-batch").contains { $0.key.hasPrefix("ferry/assistants/0000") })
        #expect(try await workspace.plan().isEmpty)
    }

    /// Killed after S3 stored the object and before Ferry recorded it, the next run adopts it: one object.
    @Test func crashAfterUploadIsAdopted() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace)
        workspace.declare("handbook", models: ["claude-batch"])
        let crashed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_CRASH_AT": "after-create"])
        #expect(crashed.signaled)
        #expect(workspace.bedrockObjects.count == 1)
        #expect(try workspace.engine().store.intents().count == 1)
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(workspace.bedrockObjects.count == 1)
        #expect(try workspace.engine().store.ownedFiles().map(\.remoteID) == workspace.bedrockObjects.map { "s3://ferry-batch/\($0.key)" })
        #expect(try workspace.engine().store.intents().isEmpty)
        #expect(try await workspace.plan().isEmpty)
    }

    /// Killed mid-upload (slow S3), then run again: never two objects for the placement.
    @Test func killedMidUploadLeavesOneFile() async throws {
        let workspace = try await Workspace(faults: FaultPlan(latencyMilliseconds: 400))
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace)
        workspace.declare("handbook", models: ["claude-batch"])
        let simulator = workspace.simulator
        let killed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, killAfterMilliseconds: 200,
            killClockStarts: { simulator.stats().requests["PUT /s3/{bucket}/{key}"] ?? 0 > 0 })
        #expect(killed.signaled)
        #expect(try workspace.engine().store.intents().count == 1)
        workspace.simulator.setFaults(.none)
        try await Task.sleep(for: .milliseconds(500))
        let resumed = try await FerryProcess.run(["reconcile"], in: workspace)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(workspace.bedrockObjects.count == 1)
        #expect(try workspace.engine().store.ownedFiles().count == 1)
    }

    /// With the state lost, the key's SHA-256 proves each object is Ferry's upload of the declared content:
    /// `import` adopts it from the listing alone (no HEAD, no download) and the next plan is empty.
    @Test func lostStateImportedFromTheListing() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace)
        workspace.declare("handbook", models: ["claude-batch"])
        #expect(try await workspace.reconcile().outcome == .converged)
        let digest = try #require(try workspace.engine().store.ownedFiles().first?.digest)

        let fresh = try workspace.engine(statePath: workspace.root.appendingPathComponent("lost.sqlite").path)
        let refused = try await fresh.planPass().plan
        let untracked = try #require(refused.untracked?.first)
        #expect(untracked.remote.sha256 == digest)
        #expect(refused.blocked.count == 1)
        workspace.simulator.resetStats()
        let imported = try await fresh.importPass()
        #expect(imported.plan.actions.map(\.reason) == [.contentMatch])
        #expect(workspace.simulator.stats().requests.keys.sorted() == ["GET /s3/{bucket}?list-type=2"])
        #expect(try await fresh.planPass().plan.isEmpty)
        #expect(workspace.bedrockObjects.count == 1)
    }

    /// S3 faults (503 SlowDown, 500, accept-then-fail) on every operation still converge to one object per placement.
    @Test func convergesUnderFaults() async throws {
        let workspace = try await Workspace(
            faults: FaultPlan(seed: 42, errorRate: ["*": 0.3], errorStatuses: [500, 503], acceptThenFailRate: 0.3))
        defer { Task { await workspace.close() } }
        addBedrockModel(to: workspace)
        for index in 0..<4 { workspace.declare("doc\(index)", models: ["claude-batch"]) }
        _ = try? await workspace.reconcile()
        workspace.simulator.setFaults(.none)
        #expect(try await workspace.reconcile().outcome == .converged)
        #expect(workspace.bedrockObjects.count == 4)
        #expect(try workspace.engine().store.ownedFiles().count == 4)
        #expect(workspace.simulator.stats().injectedFaults > 0)
    }
}
