import FerryCore
import FerryEngine
import Foundation
import Testing

/// `reconcile -o json` and `plan -o json` with stats: the plan's keys and `stats` in one object, the placements written
/// by `PlanJSON`; the bytes are `JSONEncoder`'s.
@Suite("Plan with stats: JSON bytes")
struct PlanWithStatsJSONTests {
    @Test func bytesAreJSONEncoders() throws {
        let placements = (0..<50).map { index in
            PlacementStatus(
                file: "docs/\(index)/a \"b\".md", endpointID: "azure|http://127.0.0.1:9/|env:K", models: ["m", "n"],
                state: index % 2 == 0 ? .inSync : .processing, remoteID: "assistant-\(index)",
                detail: index % 2 == 0 ? nil : "provider status: uploaded")
        }
        let plan = Plan(
            actions: [], placements: placements, endpoints: [], blocked: [], warnings: [], desiredFingerprint: "x")
        let document = PlanWithStats(
            plan: plan,
            stats: RunStats(
                requests: .init(total: 3, byOperation: ["list": 3]), listPages: 3,
                seconds: ["plan": 0.25, "list": 0.5, "validate": 0.125]))
        let expected = String(decoding: try Plan.jsonEncoder.encode(document), as: UTF8.self) + "\n"
        #expect(try document.renderJSON() == expected)
    }
}
