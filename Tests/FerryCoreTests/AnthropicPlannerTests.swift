import FerryCore
import Testing

/// Placements on an Anthropic endpoint, whose files have no purpose.
@Suite("Planner on Anthropic")
struct AnthropicPlannerTests {
    static let anthropic = Endpoint(
        kind: .anthropic, baseURL: "https://api.anthropic.com", credential: .environment("ANTHROPIC_API_KEY"))
    static let models = Fixture.models + [
        ModelDefinition(name: "claude", model: "anthropic/claude", provider: "anthropic", endpoint: anthropic, origin: "m:4")
    ]

    static func input(
        listing: [RemoteFile], owned: [OwnedFile] = [], intents: [CreateIntent] = [], purpose: String = "assistants"
    ) -> PlanInput {
        var file = Fixture.file("a", models: ["claude", "gpt-4o-mini"])
        file.purpose = purpose
        let observations = [
            anthropic.id: EndpointObservation(endpointID: anthropic.id, files: listing, error: nil, observedAt: 10_000),
            Fixture.openai.id: EndpointObservation(
                endpointID: Fixture.openai.id, files: [], error: nil, observedAt: 10_000),
        ]
        return PlanInput(
            desired: DesiredState(files: [file], models: models), digests: [file.sourcePath: "d-x"],
            observations: observations, owned: owned, intents: intents, now: 10_000)
    }

    static func remote(_ id: String, createdAt: Int64 = 9_990) -> RemoteFile {
        RemoteFile(id: id, filename: "a.md", bytes: 10, purpose: "", createdAt: createdAt, status: .processed)
    }

    static func owned(_ id: String) -> OwnedFile {
        OwnedFile(
            endpointID: anthropic.id, remoteID: id, file: "a", digest: "d-x", bytes: 10, filename: "a.md", purpose: "",
            createdAt: 9_990, deletionPolicy: .delete)
    }

    /// The create for Anthropic carries no purpose; OpenAI's keeps the declared one.
    @Test func createHasNoPurpose() {
        let plan = Planner.plan(Self.input(listing: []))
        let byEndpoint = Dictionary(plan.actions.map { ($0.endpointID, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byEndpoint[Self.anthropic.id]?.kind == .create)
        #expect(byEndpoint[Self.anthropic.id]?.purpose == "")
        #expect(byEndpoint[Fixture.openai.id]?.purpose == "assistants")
    }

    /// An owned file stays current whatever purpose is declared.
    @Test func purposeChangeKeepsTheFile() {
        let plan = Planner.plan(
            Self.input(listing: [Self.remote("file_1")], owned: [Self.owned("file_1")], purpose: "batch"))
        #expect(plan.actions.filter { $0.endpointID == Self.anthropic.id }.isEmpty)
    }

    /// An interrupted upload (a listed file with no purpose) is adopted for its intent.
    @Test func crashedUploadIsAdopted() {
        let intent = CreateIntent(
            id: 1, endpointID: Self.anthropic.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md", purpose: "",
            startedAt: 9_980)
        let plan = Planner.plan(Self.input(listing: [Self.remote("file_1")], intents: [intent]))
        let adopt = plan.actions.first { $0.endpointID == Self.anthropic.id }
        #expect(adopt?.kind == .adopt)
        #expect(adopt?.remoteID == "file_1")
    }

    /// With the state lost, a listed file matching by name and size is untracked (import), not uploaded over.
    @Test func lostStateIsUntracked() {
        let plan = Planner.plan(Self.input(listing: [Self.remote("file_1", createdAt: 1_000)]))
        #expect(plan.untracked?.map(\.remote.id) == ["file_1"])
        #expect(!plan.actions.contains { $0.endpointID == Self.anthropic.id && $0.kind == .create })
    }
}
