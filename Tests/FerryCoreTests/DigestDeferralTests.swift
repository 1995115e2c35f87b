import FerryCore
import Testing

/// Which sources may be hashed by their uploads (`DigestDeferral.deferrable`), and what such a plan says.
@Suite("Digest deferral")
struct DigestDeferralTests {
    static let vertex = Endpoint(
        kind: .vertex, baseURL: "https://storage.googleapis.com", bucket: "b/ferry", credential: .environment("GCP"))

    /// The planner input with the sources in `unhashed` left without a digest, as a deferring load leaves them.
    func input(
        files: [DesiredFile], openaiListing: [RemoteFile]? = [], azureListing: [RemoteFile]? = [],
        owned: [OwnedFile] = [], intents: [CreateIntent] = [], unhashed: Set<String>, extraModels: [ModelDefinition] = []
    ) -> PlanInput {
        var input = Fixture.input(
            files: files, openaiListing: openaiListing, azureListing: azureListing, owned: owned, intents: intents)
        for path in unhashed { input.digests[path] = nil }
        if !extraModels.isEmpty {
            input.desired = DesiredState(files: files, models: Fixture.models + extraModels)
            input.observations[Self.vertex.id] = EndpointObservation(
                endpointID: Self.vertex.id, files: [], observedAt: input.now)
        }
        return input
    }

    /// A new file on OpenAI and Azure with nothing held or listed: its digest waits for the upload, and the plan's
    /// creates carry no digest and say so in text, Markdown and JSON.
    @Test func plainCreatesDefer() throws {
        let file = Fixture.file("a", models: ["gpt-4o-mini", "azure-gpt-4o"])
        var input = input(files: [file], unhashed: [file.sourcePath])
        let deferred = DigestDeferral.deferrable(input, candidates: [file.sourcePath])
        #expect(deferred == [file.sourcePath])
        input.deferredDigests = deferred
        let plan = Planner.plan(input)
        #expect(plan.actions.map(\.kind) == [.create, .create])
        #expect(plan.actions.allSatisfy { $0.digest == nil && $0.digestDeferred == true })
        #expect(plan.renderText().contains("create a (a.md, 10 B, assistants; SHA-256 computed during upload)"))
        #expect(plan.renderMarkdown().contains("assistants; SHA-256 computed during upload"))
        #expect(try plan.renderJSON().contains("\"digestDeferred\" : true"))
    }

    /// A plan without deferred digests says nothing about them (saved plans and plain plans are unchanged).
    @Test func hashedCreatesSayNothing() throws {
        let plan = Planner.plan(Fixture.input(files: [Fixture.file("a")]))
        #expect(plan.actions.first?.digest == "d-x")
        #expect(plan.actions.first?.digestDeferred == nil)
        #expect(!plan.renderText().contains("computed during upload"))
        #expect(try !plan.renderJSON().contains("digestDeferred"))
    }

    /// Anything the planner would compare the digest with keeps the digest at plan time.
    @Test func comparisonsNeedTheDigest() {
        let a = Fixture.file("a")
        let path: Set<String> = [a.sourcePath]
        // An owned copy (in sync or replaced).
        #expect(
            DigestDeferral.deferrable(
                input(files: [a], openaiListing: [Fixture.remote("file-1", "a")], owned: [Fixture.owned("file-1", "a")],
                    unhashed: path), candidates: path).isEmpty)
        // An interrupted upload's intent (adopted, then compared).
        let intent = CreateIntent(
            id: 1, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 9_990)
        #expect(DigestDeferral.deferrable(input(files: [a], intents: [intent], unhashed: path), candidates: path).isEmpty)
        // A file owned under a name no longer declared (a rename by content).
        #expect(
            DigestDeferral.deferrable(
                input(files: [a], openaiListing: [Fixture.remote("file-9", "old")], owned: [Fixture.owned("file-9", "old")],
                    unhashed: path), candidates: path).isEmpty)
        // A listed file with the declared name and size that the state does not know (import, lost state).
        #expect(
            DigestDeferral.deferrable(
                input(files: [a], openaiListing: [Fixture.remote("file-5", "a")], unhashed: path), candidates: path)
                .isEmpty)
        // An endpoint that could not be listed.
        #expect(
            DigestDeferral.deferrable(input(files: [a], openaiListing: nil, unhashed: path), candidates: path).isEmpty)
    }

    /// Unrelated holdings do not stop a deferral: another declared file owned on the endpoint, a listed file of
    /// another size, and files on other endpoints.
    @Test func unrelatedHoldingsDoNotMatter() {
        let a = Fixture.file("a")
        let b = Fixture.file("b")
        let input = input(
            files: [a, b], openaiListing: [Fixture.remote("file-2", "b"), Fixture.remote("file-3", "a", bytes: 99)],
            owned: [Fixture.owned("file-2", "b")], unhashed: [a.sourcePath])
        #expect(DigestDeferral.deferrable(input, candidates: [a.sourcePath]) == [a.sourcePath])
    }

    /// A provider that sends the digest before the content (Cloud Storage metadata) always has it at plan time, and a
    /// source shared by a file placed there is hashed for every file that reads it.
    @Test func digestFirstProvidersNeedIt() {
        let gcsModel = ModelDefinition(
            name: "gemini-pro", model: "vertex_ai/gemini", provider: "vertex_ai", endpoint: Self.vertex, origin: "m:9")
        let onVertex = Fixture.file("v", models: ["gemini-pro"])
        var shared = Fixture.file("s", models: ["gpt-4o-mini"])
        shared.sourcePath = onVertex.sourcePath
        let plain = Fixture.file("p", models: ["gpt-4o-mini"])
        let paths: Set<String> = [onVertex.sourcePath, plain.sourcePath]
        let input = input(files: [onVertex, shared, plain], unhashed: paths, extraModels: [gcsModel])
        #expect(DigestDeferral.deferrable(input, candidates: paths) == [plain.sourcePath])
        #expect(ProviderKind.allCases.filter(\.sendsDigestBeforeContent) == [.vertex, .bedrock])
    }

    /// An intent whose upload hashed as it went is resolved to the source's digest while the source keeps the
    /// stamp the intent recorded; otherwise it keeps its marker (adopted as unknown content, then replaced).
    @Test func intentMarkersResolveOnlyForTheSameStamp() {
        let a = Fixture.file("a")
        let marker = DigestDeferral.intentMarker(size: 10, mtimeNanoseconds: 5, inode: 7)
        #expect(marker == "unhashed:10:5:7")
        let intent = CreateIntent(
            id: 1, endpointID: Fixture.openai.id, file: "a", digest: marker, bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 9_990)
        let desired = DesiredState(files: [a], models: Fixture.models)
        let same = DigestDeferral.resolvingIntents(
            [intent], desired: desired, digests: [a.sourcePath: "d-x"], currentMarkers: [a.sourcePath: marker])
        #expect(same.map(\.digest) == ["d-x"])
        let changed = DigestDeferral.resolvingIntents(
            [intent], desired: desired, digests: [a.sourcePath: "d-y"],
            currentMarkers: [a.sourcePath: DigestDeferral.intentMarker(size: 10, mtimeNanoseconds: 6, inode: 7)])
        #expect(changed.map(\.digest) == [marker])

        // Planned: the resolved intent's upload is adopted with the real digest and is then in sync.
        let plan = Planner.plan(
            Fixture.input(
                files: [a], openaiListing: [Fixture.remote("file-1", "a", createdAt: 9_995)], intents: same))
        #expect(plan.actions.map(\.kind) == [.adopt])
        #expect(plan.actions.first?.digest == "d-x")
    }
}
