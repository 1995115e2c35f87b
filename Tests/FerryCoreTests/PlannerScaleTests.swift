@testable import FerryCore
import Testing

/// The planner's fast paths (parallel endpoints, presorted inputs, precomputed unified ids and placements) must
/// give exactly the plan the straightforward definitions give.
@Suite("Planner at scale")
struct PlannerScaleTests {
    static let endpoints = [
        Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("OPENAI_API_KEY")),
        Endpoint(kind: .azure, baseURL: "https://eu.openai.azure.com", apiVersion: "2024-10-21", credential: .environment("AZURE")),
        Endpoint(kind: .vertex, baseURL: "https://storage.googleapis.com", bucket: "b/ferry", credential: .environment("GCP")),
    ]

    /// A mixed input: converged, new, changed, failed, duplicate, missing, pruned, retained and foreign files, and
    /// intents; owned files deliberately out of order.
    static func input(files count: Int) -> PlanInput {
        let models = [
            ModelDefinition(name: "a", model: "a", provider: "openai", endpoint: endpoints[0], origin: ""),
            ModelDefinition(name: "b", model: "b", provider: "azure", endpoint: endpoints[1], origin: ""),
            ModelDefinition(name: "c", model: "c", provider: "vertex_ai", endpoint: endpoints[2], origin: ""),
            ModelDefinition(name: "d", model: "d", provider: "openai", endpoint: endpoints[0], origin: ""),
        ]
        var files: [DesiredFile] = []
        var digests: [String: String] = [:]
        for index in 0..<count {
            let targets = [["a", "b", "c"], ["a", "d"], ["c"], ["b", "c", "d"]][index % 4]
            files.append(
                DesiredFile(
                    name: "f\(index * 7919 % count)", sourcePath: "s/\(index).md", bytes: 10, purpose: "assistants",
                    filename: "\(index).md", targetModels: targets))
            digests["s/\(index).md"] = "d\(index)"
        }
        let desired = DesiredState(files: files, models: models)
        var listings: [String: [RemoteFile]] = [:]
        var owned: [OwnedFile] = []
        for file in desired.files {
            for (endpoint, _) in desired.placements(of: file) {
                let n = Int(file.name.dropFirst())!
                let id = "\(endpoint.kind.rawValue)-\(file.name)"
                switch n % 10 {
                case 0: continue  // new
                case 1:  // changed content
                    owned.append(OwnedFile(endpointID: endpoint.id, remoteID: id, file: file.name, digest: "old", bytes: 10, filename: file.filename, purpose: "assistants", createdAt: 100, deletionPolicy: .delete))
                    listings[endpoint.id, default: []].append(RemoteFile(id: id, filename: file.filename, bytes: 10, purpose: "assistants", createdAt: 100))
                case 2:  // duplicate
                    for suffix in ["x", "y"] {
                        owned.append(OwnedFile(endpointID: endpoint.id, remoteID: id + suffix, file: file.name, digest: digests[file.sourcePath]!, bytes: 10, filename: file.filename, purpose: "assistants", createdAt: 100, deletionPolicy: .delete))
                        listings[endpoint.id, default: []].append(RemoteFile(id: id + suffix, filename: file.filename, bytes: 10, purpose: "assistants", createdAt: 100))
                    }
                case 3:  // missing remotely
                    owned.append(OwnedFile(endpointID: endpoint.id, remoteID: id, file: file.name, digest: digests[file.sourcePath]!, bytes: 10, filename: file.filename, purpose: "assistants", createdAt: 100, deletionPolicy: .delete))
                default:
                    owned.append(OwnedFile(endpointID: endpoint.id, remoteID: id, file: file.name, digest: digests[file.sourcePath]!, bytes: 10, filename: file.filename, purpose: "assistants", createdAt: 100, deletionPolicy: .delete))
                    listings[endpoint.id, default: []].append(RemoteFile(id: id, filename: file.filename, bytes: 10, purpose: "assistants", createdAt: 100, status: n % 10 == 4 ? .error : (n % 10 == 5 ? .pending : .processed)))
                }
            }
        }
        for (index, endpoint) in endpoints.enumerated() {
            owned.append(OwnedFile(endpointID: endpoint.id, remoteID: "gone-\(index)", file: "removed-\(index)", digest: "x", bytes: 1, filename: "r", purpose: "assistants", createdAt: 100, deletionPolicy: index == 1 ? .retain : .delete))
            listings[endpoint.id, default: []].append(RemoteFile(id: "gone-\(index)", filename: "r", bytes: 1, purpose: "assistants", createdAt: 100))
            listings[endpoint.id, default: []].append(RemoteFile(id: "foreign-\(index)", filename: "up.pdf", bytes: 5, purpose: "assistants", createdAt: 5_000))
        }
        let intents = [
            CreateIntent(id: 1, endpointID: endpoints[0].id, file: "f1", digest: "d", bytes: 5, filename: "up.pdf", purpose: "assistants", startedAt: 5_000),
            CreateIntent(id: 2, endpointID: endpoints[2].id, file: "f2", digest: "d", bytes: 5, filename: "other", purpose: "assistants", startedAt: 10),
        ]
        let observations = Dictionary(uniqueKeysWithValues: endpoints.map { endpoint in
            (endpoint.id, EndpointObservation(endpointID: endpoint.id, files: listings[endpoint.id] ?? [], observedAt: 10_000))
        })
        return PlanInput(desired: desired, digests: digests, observations: observations, owned: owned.reversed(), intents: intents, now: 100_000)
    }

    @Test func parallelAndSequentialPlansAreIdentical() throws {
        let input = Self.input(files: 3_000)
        let policy = PlanPolicy(maxDeletes: nil)
        let sequential = Planner.plan(input, policy: policy, parallel: false)
        let parallel = Planner.plan(input, policy: policy, parallel: true)
        #expect(sequential == parallel)
        #expect(try sequential.renderJSON() == parallel.renderJSON())
        // Every kind of outcome is exercised.
        let kinds = Set(sequential.actions.map(\.kind))
        #expect(kinds.isSuperset(of: [.create, .replace, .delete, .forget, .release, .adopt, .expireIntent]))
        #expect(sequential.placements.contains { $0.state == .processing })
    }

    @Test func statusesAndActionsAreSortedAndIdsMatchTheirFiles() {
        let plan = Planner.plan(Self.input(files: 2_000), policy: PlanPolicy(maxDeletes: nil))
        let keys = plan.placements.map { PlacementKey(file: $0.file, endpointID: $0.endpointID) }
        #expect(keys == keys.sorted())
        #expect(plan.placements.allSatisfy { $0.unifiedID == UnifiedID.make(for: $0.file) })
        #expect(plan.actions.allSatisfy { $0.unifiedID == UnifiedID.make(for: $0.file) })
        #expect(plan.actions == plan.actions.sorted(by: PlannedAction.sortKey))
    }

    /// Statuses are written straight into (file name, endpoint id) order; files not kept in name order (the
    /// `files` of a `DesiredState` can be set) give the same statuses and actions as sorted ones.
    @Test func filesOutOfNameOrderPlanAlike() {
        let input = Self.input(files: 1_000)
        var shuffled = input
        shuffled.desired.files.reverse()
        let policy = PlanPolicy(maxDeletes: nil)
        for parallel in [false, true] {
            let expected = Planner.plan(input, policy: policy, parallel: parallel)
            let plan = Planner.plan(shuffled, policy: policy, parallel: parallel)
            #expect(plan.placements == expected.placements)
            #expect(plan.actions == expected.actions)
            #expect(plan.endpoints == expected.endpoints)
        }
    }

    /// A plan over 100,000 files on 3 endpoints holds 300,000 of each: their size is part of a large pass's peak.
    @Test func recordsStaySmall() {
        #expect(MemoryLayout<PlacementStatus>.stride <= 96, "keep PlacementStatus's one-byte fields last")
        #expect(MemoryLayout<RemoteFile>.stride <= 128, "keep RemoteFile's one-byte fields last")
        #expect(MemoryLayout<Planner.Wanted>.stride <= 16)
    }

    @Test func fingerprintMatchesTheJoinedDefinition() {
        let input = Self.input(files: 500)
        var hasher = SHA256Digest()
        for file in input.desired.files {
            hasher.update(
                [
                    file.name, file.sourcePath, input.digests[file.sourcePath] ?? "", file.purpose, file.filename,
                    file.deletionPolicy.rawValue, file.targetModels.joined(separator: ","),
                ].joined(separator: "\u{1}") + "\u{2}")
            for (endpoint, models) in input.desired.placements(of: file) {
                hasher.update(endpoint.id + "=" + models.joined(separator: ",") + "\u{3}")
            }
        }
        #expect(Planner.fingerprint(input.desired, digests: input.digests) == hasher.hexDigest())
        #expect(Planner.plan(input).desiredFingerprint == hasher.hexDigest())
    }

    @Test func sha256InPiecesEqualsWhole() {
        let text = String(repeating: "Ferry keeps files in line. ", count: 40)  // 1,080 bytes: many blocks
        let whole = SHA256Digest.hex(text)
        for step in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256Digest()
            var rest = Substring(text)
            while !rest.isEmpty {
                hasher.update(String(rest.prefix(step)))
                rest = rest.dropFirst(step)
            }
            #expect(hasher.hexDigest() == whole)
        }
        var bytes = SHA256Digest()
        bytes.update(AnySequence(Array(text.utf8)))  // the non-contiguous path
        #expect(bytes.hexDigest() == whole)
        #expect(SHA256Digest.hex(String(repeating: "a", count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
