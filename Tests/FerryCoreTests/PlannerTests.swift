import FerryCore
import Testing

/// Builders for planner inputs: one OpenAI endpoint, one Azure endpoint, and files on them.
enum Fixture {
    static let openai = Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("OPENAI_API_KEY"))
    static let azure = Endpoint(
        kind: .azure, baseURL: "https://eu.openai.azure.com", apiVersion: "2024-10-21",
        credential: .environment("AZURE_API_KEY"))

    static let models = [
        ModelDefinition(name: "gpt-4o-mini", model: "openai/gpt-4o-mini", provider: "openai", endpoint: openai, origin: "m:1"),
        ModelDefinition(name: "gpt-4o", model: "openai/gpt-4o", provider: "openai", endpoint: openai, origin: "m:2"),
        ModelDefinition(name: "azure-gpt-4o", model: "azure/x", provider: "azure", endpoint: azure, origin: "m:3"),
    ]

    static func file(
        _ name: String, models: [String] = ["gpt-4o-mini"], policy: DeletionPolicy = .delete, bytes: Int64 = 10
    ) -> DesiredFile {
        DesiredFile(
            name: name, sourcePath: "src/\(name).md", bytes: bytes, purpose: "assistants", filename: "\(name).md",
            targetModels: models, deletionPolicy: policy)
    }

    static func remote(_ id: String, _ name: String, bytes: Int64 = 10, createdAt: Int64 = 1_000, status: RemoteFileStatus = .processed)
        -> RemoteFile
    {
        RemoteFile(id: id, filename: "\(name).md", bytes: bytes, purpose: "assistants", createdAt: createdAt, status: status)
    }

    static func owned(_ id: String, _ name: String, digest: String = "d-\("x")", endpoint: Endpoint = openai, createdAt: Int64 = 1_000, policy: DeletionPolicy = .delete) -> OwnedFile {
        OwnedFile(
            endpointID: endpoint.id, remoteID: id, file: name, digest: digest, bytes: 10, filename: "\(name).md",
            purpose: "assistants", createdAt: createdAt, deletionPolicy: policy)
    }

    static func input(
        files: [DesiredFile], openaiListing: [RemoteFile]? = [], azureListing: [RemoteFile]? = [],
        owned: [OwnedFile] = [], intents: [CreateIntent] = [], now: Int64 = 10_000, digest: String = "d-x"
    ) -> PlanInput {
        var observations: [String: EndpointObservation] = [:]
        observations[openai.id] = EndpointObservation(
            endpointID: openai.id, files: openaiListing, error: openaiListing == nil ? "HTTP 503" : nil, observedAt: now)
        observations[azure.id] = EndpointObservation(
            endpointID: azure.id, files: azureListing, error: azureListing == nil ? "HTTP 503" : nil, observedAt: now)
        let digests = Dictionary(files.map { ($0.sourcePath, digest) }, uniquingKeysWith: { a, _ in a })
        return PlanInput(
            desired: DesiredState(files: files, models: models), digests: digests, observations: observations,
            owned: owned, intents: intents, now: now)
    }
}

@Suite("Planner")
struct PlannerTests {
    /// A new file targeting two models on one endpoint and one on another gives one create per endpoint.
    @Test func createsOncePerEndpoint() {
        let plan = Planner.plan(Fixture.input(files: [Fixture.file("a", models: ["gpt-4o-mini", "gpt-4o", "azure-gpt-4o"])]))
        #expect(plan.actions.map(\.kind) == [.create, .create])
        #expect(Set(plan.actions.map(\.endpointID)) == [Fixture.openai.id, Fixture.azure.id])
        #expect(plan.placements.first { $0.endpointID == Fixture.openai.id }?.models == ["gpt-4o", "gpt-4o-mini"])
        #expect(plan.summaryLine == "Plan: 2 to create, 0 to replace, 0 to delete.")
    }

    /// A placement whose owned file is listed with the same digest is in sync: no actions.
    @Test func inSyncIsEmpty() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(plan.isEmpty)
        #expect(plan.placements.map(\.state) == [.inSync])
        #expect(plan.summaryLine == "No changes. 1 placement in sync.")
    }

    /// Changed content is a replace that names the old file; create-before-delete is the applier's order.
    @Test func changedDigestReplaces() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "old")], digest: "new"))
        #expect(plan.actions.count == 1)
        #expect(plan.actions[0].kind == .replace)
        #expect(plan.actions[0].replaces == ["file-1"])
        #expect(plan.actions[0].digest == "new")
        #expect(plan.actions[0].reason == .changed)
    }

    /// A file the provider reports as failed is replaced.
    @Test func failedRemoteIsReplaced() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a", status: .error)],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(plan.actions.map(\.kind) == [.replace])
        #expect(plan.actions[0].reason == .failedRemotely)
    }

    /// A file still processing is in place, reported as processing, and not touched.
    @Test func processingIsNotTouched() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a", status: .pending)],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(plan.isEmpty)
        #expect(plan.placements.map(\.state) == [.processing])
    }

    /// Removing a declaration deletes only owned files; an unmanaged file with the same name survives.
    @Test func prunesOwnedOnlyAndReportsUnmanaged() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("keep")],
                openaiListing: [
                    Fixture.remote("file-1", "keep"), Fixture.remote("file-2", "gone"), Fixture.remote("file-3", "gone"),
                ],
                owned: [Fixture.owned("file-1", "keep"), Fixture.owned("file-2", "gone")]))
        #expect(plan.actions.map(\.kind) == [.delete])
        #expect(plan.actions[0].remoteID == "file-2")
        #expect(plan.actions[0].reason == .pruned)
        #expect(plan.endpoints.first { $0.endpointID == Fixture.openai.id }?.unmanaged.map(\.id) == ["file-3"])
    }

    /// deletionPolicy Retain turns a prune into a release: the remote file stays.
    @Test func retainReleases() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("other")], openaiListing: [Fixture.remote("file-1", "a"), Fixture.remote("file-9", "other")],
                owned: [Fixture.owned("file-1", "a", policy: .retain), Fixture.owned("file-9", "other")]))
        #expect(plan.actions.map(\.kind) == [.release])
        #expect(plan.actions[0].remoteID == "file-1")
    }

    /// An owned file gone from the listing (deleted out of band) is forgotten and re-created.
    @Test func missingOwnedIsForgottenAndRecreated() {
        let plan = Planner.plan(
            Fixture.input(files: [Fixture.file("a")], openaiListing: [], owned: [Fixture.owned("file-1", "a")]))
        #expect(plan.actions.map(\.kind) == [.create, .forget])
    }

    /// A just-created owned file missing from a lagging listing is neither forgotten nor uploaded again.
    @Test func freshOwnedFileMissingFromListingIsTrusted() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [], owned: [Fixture.owned("file-1", "a", createdAt: 9_990)],
                now: 10_000))
        #expect(plan.isEmpty)
    }

    /// An upload found for a pending intent is adopted, not uploaded again.
    @Test func adoptsUploadOfInterruptedRun() {
        let intent = CreateIntent(
            id: 7, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 9_000)
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-5", "a", createdAt: 9_001)],
                intents: [intent]))
        #expect(plan.actions.map(\.kind) == [.adopt])
        #expect(plan.actions[0].remoteID == "file-5")
        #expect(plan.actions[0].intentID == 7)
        #expect(plan.endpoints.first { $0.endpointID == Fixture.openai.id }?.unmanaged == [])
    }

    /// An upload older than its intent (minus clock skew) is not the intent's: not adopted. It still looks like a
    /// Ferry upload the state has no record of, so no create goes over it unless duplicates are allowed.
    @Test func doesNotAdoptOlderUploads() {
        let intent = CreateIntent(
            id: 7, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 9_000)
        let input = Fixture.input(
            files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-5", "a", createdAt: 100)],
            intents: [intent], now: 9_100)
        let plan = Planner.plan(input)
        #expect(plan.actions.map(\.kind) == [])
        #expect(plan.untracked?.map(\.remote.id) == ["file-5"])
        #expect(Planner.plan(input, policy: PlanPolicy(allowDuplicates: true)).actions.map(\.kind) == [.create])
    }

    /// An identical upload created long after the interrupted attempt could have finished is not adopted either,
    /// and the intent expires once its window and the listing grace have passed.
    @Test func doesNotAdoptUploadsAfterTheWindow() {
        let intent = CreateIntent(
            id: 7, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 9_000)
        let policy = PlanPolicy()
        #expect(policy.uploadWindow(startedAt: 9_000, bytes: 10) == 8_880...9_180)
        #expect(policy.intentExpiry(startedAt: 9_000, bytes: 10) == 9_240)
        let input = Fixture.input(
            files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-5", "a", createdAt: 9_500)],
            intents: [intent], now: 9_600)
        let plan = Planner.plan(input)
        #expect(plan.actions.map(\.kind) == [.expireIntent])
        #expect(plan.untracked?.map(\.remote.id) == ["file-5"])
        #expect(plan.endpoints.first { $0.endpointID == Fixture.openai.id }?.unmanaged.map(\.id) == ["file-5"])
        let allowed = Planner.plan(input, policy: PlanPolicy(allowDuplicates: true))
        #expect(allowed.actions.map(\.kind) == [.create, .expireIntent])
    }

    /// Two crashed attempts left two uploads: both adopted, one kept, the other deleted as a duplicate.
    @Test func duplicatesFromCrashesAreRemoved() {
        let intents = [7, 8].map {
            CreateIntent(
                id: Int64($0), endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
                purpose: "assistants", startedAt: 9_000)
        }
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")],
                openaiListing: [Fixture.remote("file-5", "a", createdAt: 9_001), Fixture.remote("file-6", "a", createdAt: 9_002)],
                intents: intents))
        #expect(plan.actions.map(\.kind) == [.delete, .adopt, .adopt])
        #expect(plan.actions[0].remoteID == "file-6")
        #expect(plan.actions[0].reason == .duplicate)
    }

    /// An intent whose upload never appeared expires after the window.
    @Test func staleIntentExpires() {
        let intent = CreateIntent(
            id: 3, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 1)
        let plan = Planner.plan(
            Fixture.input(files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a")], intents: [intent]))
        #expect(plan.actions.map(\.kind) == [.expireIntent])
    }

    /// An old superseded file left by an interrupted replace is deleted once the new one is current.
    @Test func supersededLeftoverIsDeleted() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")],
                openaiListing: [Fixture.remote("file-old", "a"), Fixture.remote("file-new", "a", createdAt: 2_000)],
                owned: [Fixture.owned("file-old", "a", digest: "old"), Fixture.owned("file-new", "a", digest: "d-x", createdAt: 2_000)]))
        #expect(plan.actions.map(\.kind) == [.delete])
        #expect(plan.actions[0].remoteID == "file-old")
        #expect(plan.actions[0].reason == .superseded)
    }

    /// An endpoint that cannot be listed gets no actions; its placements are unknown.
    @Test func unlistableEndpointIsLeftAlone() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a", models: ["gpt-4o-mini", "azure-gpt-4o"])], openaiListing: nil,
                owned: [Fixture.owned("file-1", "gone")]))
        #expect(plan.actions.map(\.endpointID) == [Fixture.azure.id])
        #expect(plan.placements.first { $0.endpointID == Fixture.openai.id }?.state == .unknown)
        #expect(plan.hasUnknownEndpoints)
    }

    /// More prunes than the budget blocks the plan, naming the flag that allows it.
    @Test func deletionBudgetBlocks() {
        let owned = (1...3).map { Fixture.owned("file-\($0)", "f\($0)") }
        let listing = (1...3).map { Fixture.remote("file-\($0)", "f\($0)") }
        let plan = Planner.plan(
            Fixture.input(files: [Fixture.file("x")], openaiListing: listing, owned: owned), policy: PlanPolicy(maxDeletes: 2))
        #expect(plan.blocked == [
            "the plan deletes 3 files whose declarations were removed, over the budget of 2; check the manifests, or allow it with --max-deletes 3"
        ])
        let allowed = Planner.plan(
            Fixture.input(files: [Fixture.file("x")], openaiListing: listing, owned: owned), policy: PlanPolicy(maxDeletes: 3))
        #expect(allowed.blocked.isEmpty)
    }

    /// Manifests that resolve to nothing would prune everything: refused unless allowed.
    @Test func emptyManifestGuard() {
        let input = Fixture.input(files: [], openaiListing: [Fixture.remote("file-1", "a")], owned: [Fixture.owned("file-1", "a")])
        let plan = Planner.plan(input, policy: PlanPolicy(maxDeletes: nil))
        #expect(plan.blocked.count == 1)
        #expect(plan.blocked[0].contains("--allow-empty"))
        #expect(Planner.plan(input, policy: PlanPolicy(maxDeletes: nil, allowEmpty: true)).blocked.isEmpty)
    }

    /// Owned files on an endpoint no model resolves to are left in place with a warning.
    @Test func unknownEndpointWarns() {
        var stray = Fixture.owned("file-1", "a")
        stray.endpointID = "openai|https://gone.example/v1|env:X"
        let plan = Planner.plan(Fixture.input(files: [Fixture.file("a")], owned: [stray]))
        #expect(plan.actions.map(\.kind) == [.create])
        #expect(plan.warnings.count == 1)
    }

    /// The same input gives the same plan, byte for byte, whatever the input order.
    @Test func deterministic() throws {
        let files = (0..<20).map { Fixture.file("f\($0)", models: ["gpt-4o", "azure-gpt-4o"]) }
        let a = Planner.plan(Fixture.input(files: files))
        let b = Planner.plan(Fixture.input(files: files.reversed()))
        #expect(try a.renderJSON() == b.renderJSON())
        #expect(a.desiredFingerprint == b.desiredFingerprint)
    }

    /// The unified id depends only on the name: content changes keep it.
    @Test func unifiedIDIsStable() {
        #expect(UnifiedID.make(for: "employee-handbook") == UnifiedID.make(for: "employee-handbook"))
        #expect(UnifiedID.make(for: "a") != UnifiedID.make(for: "b"))
        #expect(UnifiedID.make(for: "a").hasPrefix("file-ferry-"))
        #expect(UnifiedID.make(for: "a").count == "file-ferry-".count + 24)
        // Recorded values (Python: "file-ferry-" + sha256(b"ferry.unified-id.v1\0" + name).hexdigest()[:24]): ids
        // are stored in state and handed to LiteLLM clients, so they may never change.
        #expect(UnifiedID.make(for: "employee-handbook") == "file-ferry-fd077e0e728086da98010c1b")
        #expect(UnifiedID.make(for: "kb/faq/billing.md") == "file-ferry-c0de09cba5a15953dafd89bd")
        #expect(UnifiedID.make(for: "données/été.md") == "file-ferry-7440e26fd9182d04adcd5f6d")
        #expect(UnifiedID.make(for: "") == "file-ferry-2c94a6e7766718880557ae3b")
    }

    /// The in-core SHA-256 matches the standard test vectors.
    @Test func sha256Vectors() {
        #expect(SHA256Digest.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256Digest.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
