import FerryCore
import Testing

/// Invariant 9 in the planner: files that look like Ferry's uploads but that the state has no record of.
@Suite("Untracked files and the import plan")
struct UntrackedFilesTests {
    /// An unowned file with the declared name, size and purpose, and nothing owned: no create, a per-endpoint refusal
    /// that names `ferry import` and `--allow-duplicates`, and the placement out of sync with the file's id.
    @Test func matchingUnownedFileRefusesTheCreate() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a", models: ["gpt-4o-mini", "azure-gpt-4o"])],
                openaiListing: [Fixture.remote("file-1", "a")]))
        #expect(plan.actions.map(\.kind) == [.create])
        #expect(plan.actions.first?.endpointID == Fixture.azure.id)
        #expect(plan.untracked == [UntrackedFile(file: "a", endpointID: Fixture.openai.id, remote: Fixture.remote("file-1", "a"))])
        #expect(plan.blocked.count == 1)
        #expect(plan.blocked.first?.hasPrefix(Fixture.openai.displayName + " already holds 1 file(s)") == true)
        let status = plan.placements.first { $0.endpointID == Fixture.openai.id }
        #expect(status?.state == .outOfSync)
        #expect(status?.remoteID == "file-1")
        #expect(status?.pendingAction == nil)
    }

    /// Another size, name or purpose is someone else's file: the create goes ahead and nothing is refused.
    @Test func differentFilesDoNotMatch() {
        var otherPurpose = Fixture.remote("file-3", "a")
        otherPurpose.purpose = "batch"
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")],
                openaiListing: [Fixture.remote("file-1", "a", bytes: 11), Fixture.remote("file-2", "b"), otherPurpose]))
        #expect(plan.actions.map(\.kind) == [.create])
        #expect(plan.blocked.isEmpty)
        #expect(plan.untracked == nil)
    }

    /// A file claimed by a write-ahead intent is an interrupted upload (adopted), not an untracked one.
    @Test func intentClaimsBeforeUntracked() {
        let intent = CreateIntent(
            id: 7, endpointID: Fixture.openai.id, file: "a", digest: "d-x", bytes: 10, filename: "a.md",
            purpose: "assistants", startedAt: 1_000)
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a", createdAt: 1_010)],
                intents: [intent], now: 1_100))
        #expect(plan.actions.map(\.kind) == [.adopt])
        #expect(plan.blocked.isEmpty)
    }

    /// `allowDuplicates` plans the create anyway.
    @Test func allowDuplicatesCreates() {
        let plan = Planner.plan(
            Fixture.input(files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a")]),
            policy: PlanPolicy(allowDuplicates: true))
        #expect(plan.actions.map(\.kind) == [.create])
        #expect(plan.blocked.isEmpty)
    }

    /// Two matching files for one placement: the oldest is the candidate, the other stays unmanaged.
    @Test func oldestMatchIsTheCandidate() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")],
                openaiListing: [Fixture.remote("file-new", "a", createdAt: 2_000), Fixture.remote("file-old", "a", createdAt: 1_000)]))
        #expect(plan.untracked?.map(\.remote.id) == ["file-old"])
    }

    /// The import plan: a verified digest equal to the source's is a content match, none is a name match, another
    /// digest is left alone with a warning; nothing else (no create for the Azure placement) is planned.
    @Test func importPlanClassifiesMatches() {
        let input = Fixture.input(
            files: [
                Fixture.file("a", models: ["gpt-4o-mini", "azure-gpt-4o"]), Fixture.file("b"), Fixture.file("c"),
            ],
            openaiListing: [Fixture.remote("file-a", "a"), Fixture.remote("file-b", "b"), Fixture.remote("file-c", "c")])
        let plan = Planner.importPlan(
            input, policy: PlanPolicy(), verifiedDigests: ["file-a": "d-x", "file-c": "other"])
        #expect(plan.mode == .import)
        #expect(plan.actions.map(\.kind) == [.import, .import])
        #expect(plan.actions.map(\.remoteID) == ["file-a", "file-b"])
        #expect(plan.actions.map(\.reason) == [.contentMatch, .nameMatch])
        #expect(plan.actions.allSatisfy { $0.digest == "d-x" && $0.endpointID == Fixture.openai.id })
        #expect(plan.warnings == ["file-c has the name and size of c but other content; left alone"])
        #expect(plan.blocked.isEmpty)
        #expect(plan.summaryLine == "Import: 2 file(s) to adopt into the state (1 matched by name, size and purpose only).")
        #expect(plan.renderText().contains("= import file-a for a (same content: SHA-256 verified)"))
    }

    /// Metadata Ferry wrote at upload (Cloud Storage) proves the content without a download.
    @Test func metadataDigestIsAContentMatch() {
        var remote = Fixture.remote("gs://b/ferry/assistants/x/a.md", "a")
        remote.sha256 = "d-x"
        let input = Fixture.input(files: [Fixture.file("a")], openaiListing: [remote])
        let candidates = Planner.plan(input).untracked ?? []
        #expect(candidates.map(\.remote.sha256) == ["d-x"])
        let plan = Planner.importPlan(input, policy: PlanPolicy(), verifiedDigests: ["gs://b/ferry/assistants/x/a.md": "d-x"])
        #expect(plan.actions.map(\.reason) == [.contentMatch])
    }

    /// A saved plan from before this field existed still decodes (no `untracked`, no `mode`).
    @Test func oldSavedPlansDecode() throws {
        let plan = Planner.plan(Fixture.input(files: [Fixture.file("a")]))
        let saved = try SavedPlan(plan: plan, createdAt: 1, manifestRoot: "m").encoded()
        let text = String(decoding: saved, as: UTF8.self)
        #expect(!text.contains("\"untracked\""))
        #expect(!text.contains("\"mode\""))
        #expect(try SavedPlan.decode(saved, path: "p").plan == plan)
    }
}
