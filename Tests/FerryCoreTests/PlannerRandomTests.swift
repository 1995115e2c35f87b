@testable import FerryCore
import FerryTestSupport
import Testing

/// Random inputs mixing every case the planner knows (owned files declared or not, listed, missing or listed twice,
/// renames, adopted and expired intents, protect and retain, expiring copies, untracked look-alikes, failed
/// listings): the plan is the same whether endpoints are planned in parallel or one after another, every placement
/// gets exactly one status, in order, and the plan is deterministic. (Before the planner walked owned files beside
/// declared ones instead of tables by name, its output on 4,000 of these inputs was recorded, and the new planner
/// gave the same bytes.)
@Suite("Planner on random inputs")
struct PlannerRandomTests {
    static func randomInput(seed: UInt64) -> (PlanInput, PlanPolicy) {
        var rng = SplitMix64(seed: seed)
        let endpoints = PlannerScaleTests.endpoints
        let models = [
            ModelDefinition(name: "a", model: "a", provider: "openai", endpoint: endpoints[0], origin: ""),
            ModelDefinition(name: "b", model: "b", provider: "azure", endpoint: endpoints[1], origin: ""),
            ModelDefinition(name: "c", model: "c", provider: "vertex_ai", endpoint: endpoints[2], origin: ""),
            ModelDefinition(name: "d", model: "d", provider: "openai", endpoint: endpoints[0], origin: ""),
        ]
        let count = Int.random(in: 0...40, using: &rng)
        let names = (0..<60).map { "n\($0)" }.shuffled(using: &rng)
        var files: [DesiredFile] = []
        var digests: [String: String] = [:]
        let policies: [DeletionPolicy] = [.delete, .retain, .protect]
        for index in 0..<count {
            let targets = [["a", "b", "c"], ["a", "d"], ["c"], ["b", "c", "d"], ["b"]].randomElement(using: &rng)!
            var file = DesiredFile(
                name: names[index], sourcePath: "s/\(Int.random(in: 0..<30, using: &rng)).md", bytes: Int64.random(in: 1...3, using: &rng),
                purpose: "assistants", filename: "f\(Int.random(in: 0..<5, using: &rng)).md", targetModels: targets,
                deletionPolicy: policies.randomElement(using: &rng)!)
            if Bool.random(using: &rng) && Bool.random(using: &rng) { file.previousNames = [names[Int.random(in: 40..<60, using: &rng)]] }
            if Int.random(in: 0..<8, using: &rng) == 0 { file.expiresAfterSeconds = 100_000 }
            files.append(file)
            digests[file.sourcePath] = "d\(Int.random(in: 0..<3, using: &rng))"
        }
        let desired = DesiredState(files: files, models: models)
        var listings: [String: [RemoteFile]] = [:]
        var owned: [OwnedFile] = []
        var ids = 0
        let statuses: [RemoteFileStatus] = [.processed, .processed, .processed, .error, .pending, .uploaded]
        func remote(_ id: String, name: String, bytes: Int64, created: Int64) -> RemoteFile {
            RemoteFile(
                id: id, filename: name, bytes: bytes, purpose: "assistants", createdAt: created,
                status: statuses.randomElement(using: &rng)!,
                expiresAt: Int.random(in: 0..<6, using: &rng) == 0 ? created + Int64.random(in: 1000...200_000, using: &rng) : nil)
        }
        // Owned rows for declared and undeclared names.
        for _ in 0..<Int.random(in: 0...70, using: &rng) {
            let name = Bool.random(using: &rng) && !files.isEmpty ? files.randomElement(using: &rng)!.name : names.randomElement(using: &rng)!
            let endpoint = endpoints.randomElement(using: &rng)!
            ids += 1
            let id = "r\(ids)"
            let created = Int64.random(in: 5_000...10_050, using: &rng)
            let fname = "f\(Int.random(in: 0..<5, using: &rng)).md"
            let bytes = Int64.random(in: 1...3, using: &rng)
            owned.append(OwnedFile(endpointID: endpoint.id, remoteID: id, file: name, digest: "d\(Int.random(in: 0..<3, using: &rng))", bytes: bytes, filename: fname, purpose: "assistants", createdAt: created, deletionPolicy: policies.randomElement(using: &rng)!))
            if Int.random(in: 0..<5, using: &rng) != 0 {
                listings[endpoint.id, default: []].append(remote(id, name: fname, bytes: bytes, created: created))
                if Int.random(in: 0..<10, using: &rng) == 0 { listings[endpoint.id, default: []].append(remote(id, name: fname, bytes: bytes, created: created)) }
            }
        }
        // Foreign files, some matching declared files (untracked) or intents.
        for _ in 0..<Int.random(in: 0...20, using: &rng) {
            ids += 1
            let endpoint = endpoints.randomElement(using: &rng)!
            listings[endpoint.id, default: []].append(remote("x\(ids)", name: "f\(Int.random(in: 0..<5, using: &rng)).md", bytes: Int64.random(in: 1...3, using: &rng), created: Int64.random(in: 4_000...10_000, using: &rng)))
        }
        var intents: [CreateIntent] = []
        for id in 0..<Int.random(in: 0...6, using: &rng) {
            let name = Bool.random(using: &rng) && !files.isEmpty ? files.randomElement(using: &rng)!.name : names.randomElement(using: &rng)!
            intents.append(CreateIntent(id: Int64(id), endpointID: endpoints.randomElement(using: &rng)!.id, file: name, digest: "d1", bytes: Int64.random(in: 1...3, using: &rng), filename: "f\(Int.random(in: 0..<5, using: &rng)).md", purpose: "assistants", startedAt: Int64.random(in: 4_000...10_000, using: &rng), deletionPolicy: policies.randomElement(using: &rng)!))
        }
        var observations: [String: EndpointObservation] = [:]
        for endpoint in endpoints {
            let failed = Int.random(in: 0..<12, using: &rng) == 0
            observations[endpoint.id] = EndpointObservation(endpointID: endpoint.id, files: failed ? nil : (listings[endpoint.id] ?? []).shuffled(using: &rng), error: failed ? "boom" : nil, observedAt: 10_000)
        }
        var input = PlanInput(desired: desired, digests: digests, observations: observations, owned: owned.shuffled(using: &rng), intents: intents, now: 10_100)
        input.owned = Bool.random(using: &rng) ? input.owned : input.owned.sorted { ($0.file, $0.endpointID, $0.remoteID) < ($1.file, $1.endpointID, $1.remoteID) }
        var policy = PlanPolicy(maxDeletes: Bool.random(using: &rng) ? nil : 5)
        policy.allowDuplicates = Int.random(in: 0..<4, using: &rng) == 0
        return (input, policy)
    }

    @Test func parallelSequentialAndRepeatedPlansAgree() throws {
        for seed in 0..<400 {
            let (input, policy) = Self.randomInput(seed: UInt64(seed))
            let sequential = Planner.plan(input, policy: policy, parallel: false)
            let parallel = Planner.plan(input, policy: policy, parallel: true)
            #expect(sequential == parallel, "seed \(seed)")
            #expect(try sequential.renderJSON() == Planner.plan(input, policy: policy).renderJSON(), "seed \(seed)")
            let keys = sequential.placements.map { PlacementKey(file: $0.file, endpointID: $0.endpointID) }
            #expect(keys == keys.sorted() && Set(keys).count == keys.count, "seed \(seed)")
            let wanted = input.desired.resolvedPlacements().reduce(0) { $0 + $1.count }
            #expect(keys.count == wanted, "seed \(seed)")
        }
    }
}
