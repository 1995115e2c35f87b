import FerryCore
import FerryEngine
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a chaos run found.
struct ChaosReport: CustomStringConvertible {
    var rounds = 0
    var killed = 0
    var injectedFaults = 0
    var violations: [String] = []
    var description: String {
        "\(rounds) rounds, \(killed) processes killed, \(injectedFaults) faults injected, \(violations.count) violations"
    }
}

/// Rounds of `ferry reconcile` under random provider faults, killed with SIGKILL at random moments, each followed by
/// one clean reconcile; after every round the invariants are checked against the simulator's real contents.
func runChaos(rounds: Int, seed: UInt64, backend: StateBackend = .sqlite) async throws -> ChaosReport {
    var random = SplitMix64(seed: seed)
    var report = ChaosReport()
    let workspace = try await Workspace(gcsAuthentication: .anonymous, backend: backend)
    defer { Task { await workspace.close() } }
    // A Vertex AI endpoint too: Cloud Storage creates retry under one object name, a path the OpenAI-style ones lack.
    let bucket = "ferry-chaos"
    workspace.extraEnvironment["STORAGE_EMULATOR_HOST"] = workspace.simulator.gcsBaseURL
    addVertexModel(to: workspace, bucket: bucket)
    // Files someone else uploaded, with names Ferry also uses: they must survive every round.
    let foreignOpenAI = workspace.simulator.seedFile(
        apiKey: Workspace.openAIKey, filename: "doc0.md", purpose: "assistants", data: Array("foreign".utf8),
        createdAt: 1_000)
    let foreignAzure = workspace.simulator.seedFile(
        apiKey: Workspace.azureKey, flavor: .azure, filename: "doc1.md", purpose: "assistants",
        data: Array("foreign".utf8), createdAt: 1_000)
    // Someone else's object inside Ferry's own prefix, named like Ferry's: unowned, so it must survive too.
    let foreignObject = workspace.simulator.seedObject(
        bucket: bucket, name: "ferry/assistants/0000000000000000/doc2.md", data: Array("foreign".utf8)
    ).filename
    // And Anthropic: files without purpose or metadata, adopted after a crash by name, size and time alone.
    addAnthropicModel(to: workspace)
    let foreignAnthropic = workspace.simulator.seedFile(
        apiKey: Workspace.anthropicKey, flavor: .anthropic, filename: "doc3.md", purpose: "",
        data: Array("foreign".utf8), createdAt: 1_000)
    // And Bedrock (S3): keys carry the content's SHA-256; someone else's object sits inside Ferry's prefix.
    addBedrockModel(to: workspace)
    let foreignS3 = workspace.simulator.seedS3Object(
        bucket: Workspace.bedrockBucket, key: "ferry/assistants/0000000000000000/doc4.md", data: Array("foreign".utf8),
        lastModified: 1_000
    ).key
    // And Gemini: resumable uploads, no purpose, 403 for missing files.
    addGeminiModel(to: workspace)
    let foreignGemini = "files/" + workspace.simulator.seedFile(
        apiKey: Workspace.geminiKey, flavor: .gemini, filename: "doc4.md", purpose: "",
        data: Array("foreign".utf8), createdAt: Int64(Date().timeIntervalSince1970) - 3600).id
    let providers = ["gpt-4o-mini", "azure-gpt-4o", "gemini", "claude", "claude-batch", "flash"]
    var declared: Set<Int> = []
    var revision = 0
    // A vector store on OpenAI holding every declared doc uploaded there: store calls meet the same faults and kills.
    var onOpenAI: Set<Int> = []

    for round in 1...rounds {
        report.rounds = round
        // Change the desired state a little: add, remove or edit a file.
        let index = Int.random(in: 0..<6, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0 where declared.count > 1:
            workspace.remove("manifests/doc\(index).yaml")
            declared.remove(index)
            onOpenAI.remove(index)
        default:
            revision += 1
            // A random non-empty subset of the five providers.
            let mask = Int.random(in: 1...31, using: &random)
            let models = providers.indices.filter { mask & (1 << $0) != 0 }.map { providers[$0] }
            workspace.declare("doc\(index)", models: models, content: "doc\(index) revision \(revision)\n")
            declared.insert(index)
            if models.contains("gpt-4o-mini") { onOpenAI.insert(index) } else { onOpenAI.remove(index) }
        }
        workspace.declareStore("kb", files: onOpenAI.sorted().map { "doc\($0)" }, models: ["gpt-4o-mini"])
        // Random faults for the attempt that may be killed.
        let faults = FaultPlan(
            seed: random.next(),
            errorRate: ["*": Double.random(in: 0.1...0.5, using: &random)],
            // 403 stands for a refusal after an earlier attempt may have stored the file (found a GCS orphan).
            errorStatuses: [429, 500, 502, 503, 403], retryAfterSeconds: 0,
            latencyMilliseconds: Int.random(in: 0...20, using: &random),
            acceptThenFailRate: Double.random(in: 0...0.3, using: &random),
            resetConnectionRate: Double.random(in: 0...0.1, using: &random))
        workspace.simulator.setFaults(faults)
        // The kill comes 0–380 ms after the attempt's first provider request: inside the work, however slowly the
        // process started on a loaded machine.
        let killAfter = Int.random(in: 20...400, using: &random) - 20
        let requestsBefore = workspace.simulator.stats().total
        let simulator = workspace.simulator
        let result = try await FerryProcess.run(
            ["reconcile", "--max-deletes", "100"], in: workspace, killAfterMilliseconds: killAfter,
            killClockStarts: { simulator.stats().total > requestsBefore })
        if result.signaled { report.killed += 1 }
        report.injectedFaults = workspace.simulator.stats().injectedFaults

        // One clean pass must converge.
        workspace.simulator.setFaults(.none)
        let clean = try await FerryProcess.run(["reconcile", "--max-deletes", "100"], in: workspace)
        if clean.status != 0 {
            report.violations.append("round \(round): clean reconcile exited \(clean.status): \(clean.stderr.suffix(400))")
            continue
        }
        // Invariants, checked against what the providers really hold.
        let engine = try workspace.engine()
        let owned = try engine.store.ownedFiles()
        let openai = workspace.openAIFiles
        let azure = workspace.azureFiles
        let anthropic = workspace.anthropicFiles
        let gemini = workspace.geminiFiles
        let objects = workspace.simulator.objects(bucket: bucket).map(\.filename)
        let s3Keys = workspace.simulator.s3Objects(bucket: Workspace.bedrockBucket).map(\.key)
        if !openai.contains(where: { $0.id == foreignOpenAI.id }) || !azure.contains(where: { $0.id == foreignAzure.id })
            || !objects.contains(foreignObject) || !anthropic.contains(where: { $0.id == foreignAnthropic.id })
            || !s3Keys.contains(foreignS3)
            || !gemini.contains(where: { $0.id == foreignGemini })
        {
            report.violations.append("round \(round): a file Ferry does not own was deleted")
        }
        let ours = openai.filter { $0.id != foreignOpenAI.id }.map(\.id) + azure.filter { $0.id != foreignAzure.id }.map(\.id)
            + objects.filter { $0 != foreignObject }.map { "gs://\(bucket)/\($0)" }
            + anthropic.filter { $0.id != foreignAnthropic.id }.map(\.id)
            + s3Keys.filter { $0 != foreignS3 }.map { "s3://\(Workspace.bedrockBucket)/\($0)" }
            + gemini.filter { $0.id != foreignGemini }.map(\.id)
        if Set(ours) != Set(owned.map(\.remoteID)) || ours.count != owned.count {
            report.violations.append(
                "round \(round): remote files \(ours.sorted()) != owned \(owned.map(\.remoteID).sorted())")
        }
        var perPlacement: [PlacementKey: Int] = [:]
        for file in owned { perPlacement[file.placement, default: 0] += 1 }
        if let duplicated = perPlacement.first(where: { $0.value != 1 }) {
            report.violations.append("round \(round): \(duplicated.value) files for \(duplicated.key)")
        }
        let expectedPlacements = try await engine.load().desired.files.reduce(0) { $0 + ($1.targetModels.count) }
        if perPlacement.count != expectedPlacements {
            report.violations.append("round \(round): \(perPlacement.count) placements held, \(expectedPlacements) declared")
        }
        // Exactly one store with Ferry's mark, holding exactly the members' current files, each processed. A clean
        // pass that finds an attachment the killed one made still processing leaves it so (it converges: nothing is
        // left to do), so the check first gives the provider its processing time (the simulator's
        // `attachmentDelay`, 300 ms), then wants every attachment completed.
        var stores = workspace.openAIStores.filter { $0.metadata["ferry-vector-store"] == "kb" }
        for _ in 0..<20 where stores.contains(where: { $0.files.values.contains("in_progress") }) {
            try await Task.sleep(for: .milliseconds(100))
            stores = workspace.openAIStores.filter { $0.metadata["ferry-vector-store"] == "kb" }
        }
        let members = Set(owned.filter { $0.endpointID.hasPrefix("openai|") && onOpenAI.contains(Int($0.file.dropFirst(3)) ?? -1) }.map(\.remoteID))
        if stores.count != 1 {
            report.violations.append("round \(round): \(stores.count) vector stores marked kb")
        } else if Set(stores[0].files.keys) != members || stores[0].files.values.contains(where: { $0 != "completed" }) {
            report.violations.append("round \(round): store holds \(stores[0].files), members are \(members.sorted())")
        }
        if try engine.store.integrityCheck() != "ok" {
            report.violations.append("round \(round): integrity_check failed")
        }
        // Open intents may remain (their upload window has not passed), but none may match a file nobody owns:
        // that would be an orphan, and the ownership check above already covers it.
    }
    return report
}

@Suite("Chaos", .serialized)
struct ChaosTests {
    /// 100 rounds of faults and SIGKILLs, with the state in SQLite and in PostgreSQL (a killed process leaves its
    /// connection and lease behind): no duplicate, no orphan, nothing unowned deleted, database intact.
    @Test(arguments: StateBackend.all) func invariantsHoldUnderFaultsAndKills(_ backend: StateBackend) async throws {
        let rounds = Int(ProcessInfo.processInfo.environment["FERRY_CHAOS_ROUNDS"] ?? "") ?? 100
        let seed = UInt64(ProcessInfo.processInfo.environment["FERRY_CHAOS_SEED"] ?? "") ?? 20_261_125
        let report = try await runChaos(rounds: rounds, seed: seed, backend: backend)
        print("chaos (\(backend.rawValue)): seed \(seed): \(report)")
        #expect(report.violations == [])
        #expect(report.rounds == rounds)
        #expect(report.killed > rounds / 10, "too few kills to prove anything: \(report)")
        #expect(report.injectedFaults > rounds, "too few faults to prove anything: \(report)")
    }
}
