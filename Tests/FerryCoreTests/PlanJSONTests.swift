import Foundation
import Testing

@testable import FerryCore

/// `PlanJSON` writes the placements of `ferry plan -o json`, `reconcile -o json` and saved plans itself: its bytes must
/// be `JSONEncoder`'s (sorted keys, pretty printed, slashes as they are), for every field and for any text.
@Suite("Plan JSON: placements written like JSONEncoder")
struct PlanJSONTests {
    static let awkward = [
        "docs/a b/ü-é.md", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}",
        "line\u{2028}para\u{2029}", "emoji 😀 and 漢字", "<&>", "",
    ]

    static func plan() -> Plan {
        var placements: [PlacementStatus] = []
        let states: [PlacementStatus.State] = [.inSync, .outOfSync, .processing, .unknown]
        let kinds: [PlannedAction.Kind?] = [nil, .create, .replace, .delete, .adopt, .move, .setPolicy]
        for (index, name) in awkward.enumerated() {
            for (slot, kind) in kinds.enumerated() {
                placements.append(
                    PlacementStatus(
                        file: name + "\(slot)", endpointID: "openai|http://127.0.0.1:\(index)/v1|env:KEY_\(slot)",
                        models: Array(awkward.prefix(slot % 3)), state: states[(index + slot) % states.count],
                        remoteID: slot % 2 == 0 ? nil : "file-\(name)", pendingAction: kind,
                        detail: slot % 3 == 0 ? nil : "provider status: \(name)"))
            }
        }
        var plan = Plan(
            actions: [
                PlannedAction(kind: .create, reason: .new, file: "docs/a.md", endpointID: "e", digest: "d", bytes: 3)
            ],
            placements: placements,
            endpoints: [
                EndpointSummary(
                    endpointID: "e", displayName: "E", kind: .openai, listed: 2, owned: 1, unmanaged: [], error: nil)
            ],
            blocked: ["b"], warnings: ["w \u{1}"], desiredFingerprint: "f")
        plan.scope = nil
        return plan
    }

    @Test func planBytesAreJSONEncoders() throws {
        let plan = Self.plan()
        #expect(plan.placements.count == Self.awkward.count * 7)
        #expect(try plan.jsonData() == Plan.jsonEncoder.encode(plan))
        // No placements, and a single one.
        var empty = plan
        empty.placements = []
        #expect(try empty.jsonData() == Plan.jsonEncoder.encode(empty))
        var one = plan
        one.placements = [plan.placements[3]]
        #expect(try one.jsonData() == Plan.jsonEncoder.encode(one))
    }

    @Test func savedPlanBytesAreJSONEncoders() throws {
        let saved = SavedPlan(plan: Self.plan(), createdAt: 1_700_000_000, manifestRoot: "manifests/")
        let data = try saved.encoded()
        #expect(data == (try Plan.jsonEncoder.encode(saved)))
        #expect(try SavedPlan.decode(data, path: "plan.json") == saved)
    }

    /// Every stored property of `PlacementStatus` is one `PlanJSON` writes: a new field must be added there too
    /// (`planBytesAreJSONEncoders` then checks its bytes).
    @Test func placementFieldsAreAllWritten() {
        let placement = PlacementStatus(file: "f", endpointID: "e", models: [], state: .inSync)
        let fields = Mirror(reflecting: placement).children.compactMap(\.label)
        #expect(
            fields.sorted()
                == ["detail", "endpointID", "file", "models", "pendingAction", "remoteID", "state", "unifiedID"])
    }
}
