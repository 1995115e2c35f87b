import FerryCore
import Testing

/// Copies the provider deletes by itself (Gemini's 48-hour files, OpenAI's expires_after) are replaced before they
/// lapse: a fresh upload first, then the old copy's delete, under the same unified id.
@Suite("Planner: refresh before expiry")
struct ExpiryPlannerTests {
    static let gemini = Endpoint(
        kind: .gemini, baseURL: "https://generativelanguage.googleapis.com", credential: .environment("GEMINI_API_KEY"))
    static let models = Fixture.models + [
        ModelDefinition(name: "flash", model: "gemini/gemini-2.5-flash", provider: "gemini", endpoint: gemini, origin: "m:4")
    ]
    static let now: Int64 = 1_000_000
    static let lifetime: Int64 = 48 * 3600

    static func input(listing: [RemoteFile], owned: [OwnedFile], digest: String = "d-x") -> PlanInput {
        let file = Fixture.file("a", models: ["flash"])
        return PlanInput(
            desired: DesiredState(files: [file], models: models), digests: [file.sourcePath: digest],
            observations: [
                gemini.id: EndpointObservation(endpointID: gemini.id, files: listing, error: nil, observedAt: now)
            ],
            owned: owned, intents: [], now: now)
    }

    static func remote(_ id: String, createdAt: Int64, expiresAt: Int64?) -> RemoteFile {
        RemoteFile(
            id: id, filename: "a.md", bytes: 10, purpose: "", createdAt: createdAt, status: .processed,
            expiresAt: expiresAt)
    }

    static func owned(_ id: String, createdAt: Int64) -> OwnedFile {
        OwnedFile(
            endpointID: gemini.id, remoteID: id, file: "a", digest: "d-x", bytes: 10, filename: "a.md", purpose: "",
            createdAt: createdAt, deletionPolicy: .delete)
    }

    /// Within the margin (default 6 h): a replace that uploads first and then deletes the old copy, with the same
    /// unified id, reason `expiring`, the old copy's expiry, and a plan line that says when it lapses.
    @Test func expiringWithinMarginIsReplaced() {
        let created = Self.now - Self.lifetime + 3600  // expires in one hour
        let plan = Planner.plan(
            Self.input(
                listing: [Self.remote("files/old", createdAt: created, expiresAt: created + Self.lifetime)],
                owned: [Self.owned("files/old", createdAt: created)]))
        #expect(plan.actions.count == 1)
        let action = plan.actions[0]
        #expect(action.kind == .replace)
        #expect(action.reason == .expiring)
        #expect(action.replaces == ["files/old"])
        #expect(action.unifiedID == UnifiedID.make(for: "a"))
        #expect(action.expiresAt == Self.now + 3600)
        #expect(action.purpose == "")
        #expect(plan.placements.first?.state == .outOfSync)
        #expect(plan.placements.first?.pendingAction == .replace)
        let text = plan.renderText(color: false)
        #expect(text.contains("then delete files/old (the provider deletes it at 1970-01-12T14:46:40Z, within the refresh margin)"))
    }

    /// Outside the margin, or with no expiry at all, nothing happens.
    @Test func outsideMarginIsNoOp() {
        let created = Self.now - 3600  // 47 hours left
        let fresh = Planner.plan(
            Self.input(
                listing: [Self.remote("files/old", createdAt: created, expiresAt: created + Self.lifetime)],
                owned: [Self.owned("files/old", createdAt: created)]))
        #expect(fresh.actions.isEmpty)
        #expect(fresh.placements.first?.state == .inSync)
        let never = Planner.plan(
            Self.input(
                listing: [Self.remote("files/old", createdAt: created, expiresAt: nil)],
                owned: [Self.owned("files/old", createdAt: created)]))
        #expect(never.actions.isEmpty)
    }

    /// The margin is a policy: a larger one refreshes earlier, zero never refreshes.
    @Test func marginIsConfigurable() {
        let created = Self.now - Self.lifetime + 10 * 3600  // expires in ten hours
        let input = Self.input(
            listing: [Self.remote("files/old", createdAt: created, expiresAt: created + Self.lifetime)],
            owned: [Self.owned("files/old", createdAt: created)])
        #expect(Planner.plan(input).actions.isEmpty)
        #expect(Planner.plan(input, policy: PlanPolicy(refreshBeforeExpirySeconds: 12 * 3600)).actions.map(\.kind) == [.replace])
        let nearlyGone = Self.input(
            listing: [Self.remote("files/old", createdAt: Self.now - Self.lifetime + 5, expiresAt: Self.now + 5)],
            owned: [Self.owned("files/old", createdAt: Self.now - Self.lifetime + 5)])
        #expect(Planner.plan(nearlyGone, policy: PlanPolicy(refreshBeforeExpirySeconds: 0)).actions.isEmpty)
    }

    /// Once the fresh copy is listed, the expiring one is a superseded extra: deleted, the fresh one kept.
    @Test func freshCopyKeptOldDeleted() {
        let oldCreated = Self.now - Self.lifetime + 600
        let plan = Planner.plan(
            Self.input(
                listing: [
                    Self.remote("files/old", createdAt: oldCreated, expiresAt: oldCreated + Self.lifetime),
                    Self.remote("files/new", createdAt: Self.now - 5, expiresAt: Self.now - 5 + Self.lifetime),
                ],
                owned: [Self.owned("files/old", createdAt: oldCreated), Self.owned("files/new", createdAt: Self.now - 5)]))
        #expect(plan.actions.map(\.kind) == [.delete])
        #expect(plan.actions.first?.remoteID == "files/old")
        #expect(plan.placements.first?.remoteID == "files/new")
    }

    /// A copy whose whole lifetime is within the margin is not refreshed (a new copy would be no better): no loop.
    @Test func lifetimeWithinMarginNeverLoops() {
        let created = Self.now - 60
        let plan = Planner.plan(
            Self.input(
                listing: [Self.remote("files/old", createdAt: created, expiresAt: created + 3600)],
                owned: [Self.owned("files/old", createdAt: created)]))
        #expect(plan.actions.isEmpty)
    }

    /// A declared expiresAfter not longer than the margin is refused: every new copy would be replaced at once.
    @Test func expiresAfterWithinMarginIsBlocked() {
        var file = Fixture.file("b")
        file.expiresAfterSeconds = 3600
        let input = PlanInput(
            desired: DesiredState(files: [file], models: Fixture.models), digests: [file.sourcePath: "d"],
            observations: [
                Fixture.openai.id: EndpointObservation(
                    endpointID: Fixture.openai.id, files: [], error: nil, observedAt: Self.now)
            ],
            owned: [], intents: [], now: Self.now)
        let plan = Planner.plan(input)
        #expect(plan.blocked.count == 1)
        #expect(plan.blocked.first?.contains("b declares expiresAfter 1h, not longer than the refresh margin 6h") == true)
        #expect(plan.actions.first?.expiresAfterSeconds == 3600)
        #expect(Planner.plan(input, policy: PlanPolicy(refreshBeforeExpirySeconds: 1800)).blocked.isEmpty)
    }

    /// Changed content and expiry together is an ordinary replace (reason changed).
    @Test func changedAndExpiringIsChanged() {
        let created = Self.now - Self.lifetime + 600
        let plan = Planner.plan(
            Self.input(
                listing: [Self.remote("files/old", createdAt: created, expiresAt: created + Self.lifetime)],
                owned: [Self.owned("files/old", createdAt: created)], digest: "d-new"))
        #expect(plan.actions.map(\.reason) == [.changed])
    }
}
