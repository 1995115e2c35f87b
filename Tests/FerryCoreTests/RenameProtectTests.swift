import FerryCore
import Testing

/// Renames without a new upload, and protection held in the state (issue: GitOps workflow, items 5 and 6).
@Suite("Planner: renames and protection")
struct RenameProtectTests {
    /// `b` declares the same source (same content, file name and purpose) that `a` used to: the owned file moves.
    static func renamed(_ name: String, from old: String, previous: [String] = []) -> DesiredFile {
        var file = DesiredFile(
            name: name, sourcePath: "src/\(old).md", bytes: 10, purpose: "assistants", filename: "\(old).md",
            targetModels: ["gpt-4o-mini"])
        file.previousNames = previous
        return file
    }

    @Test func sameContentUnderANewNameMoves() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Self.renamed("b", from: "a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(plan.actions.map(\.kind) == [.move])
        #expect(plan.actions.first?.previousName == "a")
        #expect(plan.actions.first?.file == "b")
        #expect(plan.actions.first?.unifiedID == UnifiedID.make(for: "b"))
        #expect(plan.actions.first?.remoteID == "file-1")
        #expect(plan.placements.first?.pendingAction == .move)
        #expect(plan.summaryLine == "Plan: 0 to create, 0 to replace, 0 to delete, 1 to move.")
        #expect(plan.renderText().contains("> move a → b (file-1: renamed, no upload)"))
    }

    /// Other content under a new name is not a rename unless `previousNames` says so; then the move comes with a
    /// replace of the moved file.
    @Test func previousNamesMoveChangedContent() {
        let withoutHint = Planner.plan(
            Fixture.input(
                files: [Self.renamed("b", from: "a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "old-digest")]))
        #expect(withoutHint.actions.map(\.kind) == [.delete, .create])
        let hinted = Planner.plan(
            Fixture.input(
                files: [Self.renamed("b", from: "a", previous: ["a"])], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "old-digest")]))
        #expect(hinted.actions.map(\.kind) == [.replace, .move])
        #expect(hinted.actions.first { $0.kind == .replace }?.replaces == ["file-1"])
        #expect(hinted.actions.filter { $0.kind == .delete }.isEmpty)
    }

    /// A name still declared is never taken over, and each old name moves to one new name only.
    @Test func declaredNamesAreNotTaken() {
        let plan = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a"), Self.renamed("b", from: "a"), Self.renamed("c", from: "a")],
                openaiListing: [Fixture.remote("file-1", "a")], owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(plan.actions.map(\.kind) == [.create, .create])
        #expect(Set(plan.actions.map(\.file)) == ["b", "c"])
    }

    /// Protected (as recorded in the state): removing the declaration releases the file, new content releases the
    /// old one instead of deleting it, and duplicates are released too. Nothing counts against the budget.
    @Test func protectedFilesAreNeverDeleted() {
        let removed = Planner.plan(
            Fixture.input(
                files: [], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", policy: .protect)]),
            policy: PlanPolicy(maxDeletes: 0, allowEmpty: false))
        #expect(removed.actions.map(\.kind) == [.release])
        #expect(removed.actions.first?.reason == .protected)
        #expect(removed.blocked.isEmpty)
        #expect(removed.renderText().contains(". release a file-1 (protected: left on the provider)"))

        let changed = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a", policy: .protect)], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "old", policy: .protect)]))
        #expect(changed.actions.map(\.kind) == [.replace, .release])
        #expect(changed.actions.first?.replaces == [])
    }

    /// The declaration's policy differs from the recorded one: a set-policy action records it; until it is applied,
    /// the recorded protection holds (removing protection and the declaration at once still only releases).
    @Test func unprotectIsAnExplicitAppliedStep() {
        let unprotect = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a")], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "d-x", policy: .protect)]))
        #expect(unprotect.actions.map(\.kind) == [.setPolicy])
        #expect(unprotect.actions.first?.deletionPolicy == .delete)
        #expect(unprotect.renderText().contains("unprotect a (record deletionPolicy Delete in the state)"))
        let protect = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a", policy: .protect)], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(protect.actions.map(\.kind) == [.setPolicy])
        #expect(protect.renderText().contains("protect a (record deletionPolicy Protect in the state)"))
        let retain = Planner.plan(
            Fixture.input(
                files: [Fixture.file("a", policy: .retain)], openaiListing: [Fixture.remote("file-1", "a")],
                owned: [Fixture.owned("file-1", "a", digest: "d-x")]))
        #expect(retain.actions.map(\.kind) == [.setPolicy])
    }
}
