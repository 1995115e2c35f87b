import FerryCore
import FerryEngine
import Foundation
import Testing

/// `stats` in `plan -o json` and `reconcile -o json` (docs/plan-json.md): requests by operation, list pages,
/// digest cache hits and bytes read — the figures bench/converged.sh reports.
extension CLITests {
    struct Output: Decodable {
        var formatVersion: Int
        var stats: RunStats
    }

    @Test func jsonOutputCarriesRunStats() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini", "azure-gpt-4o"], content: "twelve bytes")

        let first = try await FerryProcess.run(["plan", "-o", "json"], in: workspace)
        #expect(first.status == 0)
        let planned = try JSONDecoder().decode(Output.self, from: Data(first.stdout.utf8))
        #expect(planned.formatVersion == 1)
        #expect(planned.stats.digests == RunStats.Digests(hashed: 1, cached: 0, bytesRead: 12))
        #expect(planned.stats.requests.byOperation == ["list": 2])
        #expect(planned.stats.requests.total == 2)
        #expect(planned.stats.listPages == 2)
        #expect(planned.stats.seconds["list"] != nil && planned.stats.seconds["plan"] != nil)
        // The plan itself still decodes as a plan: stats are an extra key, not a schema change.
        #expect(try JSONDecoder().decode(Plan.self, from: Data(first.stdout.utf8)).actions.count == 2)

        let applied = try await FerryProcess.run(["reconcile", "-o", "json"], in: workspace)
        #expect(applied.status == 0)
        let reconciled = try JSONDecoder().decode(Output.self, from: Data(applied.stdout.utf8))
        #expect(reconciled.stats.requests.byOperation["create"] == 2)
        #expect(reconciled.stats.seconds["apply"] != nil)

        // Converged: list pages only, and no source read again.
        workspace.simulator.resetStats()
        let converged = try await FerryProcess.run(["reconcile", "-o", "json"], in: workspace)
        #expect(converged.status == 0)
        let stats = try JSONDecoder().decode(Output.self, from: Data(converged.stdout.utf8)).stats
        #expect(stats.requests == RunStats.Requests(total: 2, byOperation: ["list": 2], failures: 0, retries: 0))
        #expect(stats.digests == RunStats.Digests(hashed: 0, cached: 1, bytesRead: 0))
        #expect(workspace.simulator.stats().total == 2)
    }
}
