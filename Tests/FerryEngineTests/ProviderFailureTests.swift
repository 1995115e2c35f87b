import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// A provider that keeps failing, as users see it: `ferry reconcile` exits 1 naming every placement that did not
/// converge and why, the other providers converge anyway, and the status view shows both.
@Suite("Persistent provider failures", .serialized)
struct ProviderFailureTests {
    static let files = ["faq", "handbook"]

    /// OpenAI and Cloud Storage on the workspace's simulator; Azure at `azureBase` (a failing or closed endpoint).
    static func workspace(azureBase: String) async throws -> Workspace {
        let workspace = try await emulatorWorkspace()
        workspace.extraEnvironment["AZURE_API_BASE"] = azureBase
        for name in files { workspace.declare(name, models: ["gpt-4o-mini", "azure-gpt-4o", "gemini"]) }
        return workspace
    }

    /// The healthy endpoints hold exactly the declared files.
    static func expectOthersConverged(_ workspace: Workspace, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(workspace.openAIFiles.map(\.filename).sorted() == ["faq.md", "handbook.md"], sourceLocation: sourceLocation)
        let objects = workspace.simulator.objects(bucket: "ferry-test").map(\.filename).filter { $0.hasPrefix("ferry/") }
        #expect(objects.count == 2, "\(objects)", sourceLocation: sourceLocation)
        #expect(workspace.azureFiles.isEmpty, sourceLocation: sourceLocation)
    }

    /// Runs `ferry reconcile` and checks its report: exit 1, one line per Azure placement with `reason`, a summary
    /// that counts them, and nothing reported about the converged placements.
    static func expectReported(
        _ result: FerryProcess.Result, reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 1, sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        for file in files {
            let line = lines.first { $0.contains(" \(file) ") && $0.contains("azure") && $0.contains(reason) }
            #expect(line != nil, "no line names \(file) on Azure with '\(reason)':\n\(result.stderr)", sourceLocation: sourceLocation)
            #expect(
                !lines.contains { $0.contains(" \(file) ") && ($0.contains("openai http") || $0.contains("vertex gs://")) && $0.contains(reason) },
                "a converged placement is reported as failing:\n\(result.stderr)", sourceLocation: sourceLocation)
        }
        #expect(
            lines.contains { $0.hasPrefix("Not converged") && $0.contains("2 placement(s) not converged") },
            "\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// The status view (HTML and JSON) shows the Azure placements not converged with `reason`, the others in sync.
    static func expectStatusView(
        _ workspace: Workspace, reason: String, azureState: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let serve = try BackgroundFerry(
            ["serve", "--listen", "127.0.0.1:0", "--state", workspace.statePath], in: workspace, plain: true)
        defer { Task { await serve.stop() } }
        let base = try await serve.statusURL()

        let placements = try await fetch(base + "/api/v1/placements").json["placements"] as? [[String: Any]] ?? []
        #expect(placements.count == 6, sourceLocation: sourceLocation)
        for placement in placements {
            let endpoint = placement["endpointID"] as? String ?? ""
            let state = placement["displayState"] as? String
            if endpoint.hasPrefix("azure|") {
                #expect(state == azureState, "\(placement)", sourceLocation: sourceLocation)
                let why = ((placement["lastError"] as? [String: Any])?["message"] as? String ?? "")
                    + " " + (placement["detail"] as? String ?? "")
                #expect(why.contains(reason), "\(placement)", sourceLocation: sourceLocation)
            } else {
                #expect(state == "in-sync", "\(placement)", sourceLocation: sourceLocation)
            }
        }
        let endpoints = try await fetch(base + "/api/v1/endpoints").json["endpoints"] as? [[String: Any]] ?? []
        #expect(endpoints.count == 3, sourceLocation: sourceLocation)
        let summary = try await fetch(base + "/api/v1/summary").json["placements"] as? [String: Int] ?? [:]
        #expect(summary["in-sync"] == 4, "\(summary)", sourceLocation: sourceLocation)
        #expect(summary[azureState] == 2, "\(summary)", sourceLocation: sourceLocation)
        let runs = try await fetch(base + "/api/v1/runs").json["runs"] as? [[String: Any]] ?? []
        #expect(runs.first?["outcome"] as? String == "not-converged", sourceLocation: sourceLocation)
        let listed = try await fetch(base + "/v1/files").json["data"] as? [[String: Any]] ?? []
        #expect(listed.count == 2, sourceLocation: sourceLocation)
        for file in listed {
            #expect(file["status"] as? String != "processed", "\(file)", sourceLocation: sourceLocation)
            #expect((file["status_details"] as? String ?? "").contains("2 of 3 placements in sync"), "\(file)", sourceLocation: sourceLocation)
        }

        let page = try await fetch(base + "/").body
        let rows = page.components(separatedBy: "<tr").filter { $0.contains("data-label=\"File\"") }
        #expect(rows.count == 6, sourceLocation: sourceLocation)
        for row in rows {
            // The placement's endpoint cell (the file's condition badge may name another endpoint in its tooltip).
            if row.contains("<td data-label=\"Endpoint\">azure http") {
                #expect(row.contains("class=\"badge \(azureState)\""), "\(row)", sourceLocation: sourceLocation)
                #expect(row.contains(reason), "\(row)", sourceLocation: sourceLocation)
            } else {
                #expect(row.contains("class=\"badge in-sync\""), "\(row)", sourceLocation: sourceLocation)
            }
        }
        #expect(await serve.stop() == 0, sourceLocation: sourceLocation)
    }

    /// Every request to the Azure endpoint fails (its listings included): the other two converge in the same pass.
    @Test func providerFailingEverything() async throws {
        let failing = Simulator(
            configuration: SimulatorConfiguration(faults: FaultPlan(errorRate: ["*": 1.0], errorStatuses: [500, 502])))
        let failingHost = ServiceHost(failing)
        _ = try await failing.listeningPort()
        let workspace = try await Self.workspace(azureBase: failing.azureEndpoint)
        defer {
            Task {
                await workspace.close()
                await failingHost.stopQuietly()
            }
        }
        let result = try await FerryProcess.run(["reconcile"], in: workspace)
        Self.expectReported(result, reason: "HTTP 50")
        #expect(result.stderr.contains("could not be listed"), "\(result.stderr)")
        Self.expectOthersConverged(workspace)
        #expect(failing.stats().requests.keys.allSatisfy { $0 == "GET /openai/files" }, "\(failing.stats().requests)")
        try await Self.expectStatusView(workspace, reason: "HTTP 50", azureState: "unknown")

        // JSON output: the plan on stdout still says which placements are unknown and why.
        let json = try await FerryProcess.run(["reconcile", "-o", "json"], in: workspace)
        #expect(json.status == 1)
        let plan = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        let states = (plan["placements"] as? [[String: Any]] ?? []).map { ($0["endpointID"] as? String ?? "", $0["state"] as? String ?? "") }
        #expect(states.filter { $0.0.hasPrefix("azure|") }.allSatisfy { $0.1 == "unknown" })
        #expect(states.filter { !$0.0.hasPrefix("azure|") }.allSatisfy { $0.1 == "in-sync" })
        Self.expectReported(json, reason: "HTTP 50")
    }

    /// Azure lists fine but refuses every upload (HTTP 400, terminal): each placement is reported with the
    /// provider's answer, and the status view marks them failed.
    @Test func providerRefusingCreates() async throws {
        let failing = Simulator(
            configuration: SimulatorConfiguration(faults: FaultPlan(errorRate: ["create": 1.0], errorStatuses: [400])))
        let failingHost = ServiceHost(failing)
        _ = try await failing.listeningPort()
        let workspace = try await Self.workspace(azureBase: failing.azureEndpoint)
        defer {
            Task {
                await workspace.close()
                await failingHost.stopQuietly()
            }
        }
        let result = try await FerryProcess.run(["reconcile"], in: workspace)
        Self.expectReported(result, reason: "HTTP 400")
        Self.expectOthersConverged(workspace)
        #expect(failing.files(apiKey: Workspace.azureKey, flavor: .azure).isEmpty)
        try await Self.expectStatusView(workspace, reason: "HTTP 400", azureState: "failed")
    }

    /// The report's list without processes: failed, not checked, pending, a failed prune, and a failure that a later
    /// listing showed to be moot (left out).
    @Test func unconvergedPlacementsAndWhy() {
        let openai = "openai|https://api.example/v1|env:OPENAI_API_KEY"
        let azure = "azure|https://az.example|env:AZURE_API_KEY"
        let plan = Plan(
            actions: [
                PlannedAction(kind: .create, reason: .new, file: "a", endpointID: openai),
                PlannedAction(kind: .create, reason: .new, file: "b", endpointID: openai),
                PlannedAction(kind: .delete, reason: .pruned, file: "gone", endpointID: openai, remoteID: "file-1"),
            ],
            placements: [
                PlacementStatus(file: "a", endpointID: openai, models: ["m"], state: .outOfSync, pendingAction: .create),
                PlacementStatus(file: "b", endpointID: openai, models: ["m"], state: .outOfSync, pendingAction: .create),
                PlacementStatus(file: "c", endpointID: openai, models: ["m"], state: .inSync, remoteID: "file-2"),
                PlacementStatus(file: "a", endpointID: azure, models: ["z"], state: .unknown, detail: "listing failed: x"),
            ],
            endpoints: [
                EndpointSummary(
                    endpointID: openai, displayName: "openai https://api.example/v1 (env:OPENAI_API_KEY)", kind: .openai,
                    listed: 1, owned: 2, unmanaged: [], error: nil),
                EndpointSummary(
                    endpointID: azure, displayName: "azure https://az.example (env:AZURE_API_KEY)", kind: .azure,
                    listed: nil, owned: 0, unmanaged: [], error: "list failed: HTTP 503"),
            ],
            blocked: [], warnings: [], desiredFingerprint: "")
        let failures: [(action: PlannedAction, message: String)] = [
            (PlannedAction(kind: .create, reason: .new, file: "a", endpointID: openai), "HTTP 400: bad purpose"),
            (PlannedAction(kind: .create, reason: .new, file: "c", endpointID: openai), "HTTP 500, adopted later"),
            (PlannedAction(kind: .delete, reason: .pruned, file: "gone", endpointID: openai), "HTTP 403: forbidden"),
        ]
        let list = UnconvergedPlacement.list(plan: plan, failures: failures, rounds: 6)
        #expect(
            list.map(\.line) == [
                "a on azure https://az.example (env:AZURE_API_KEY) not checked: the endpoint could not be listed: list failed: HTTP 503",
                "create a on openai https://api.example/v1 (env:OPENAI_API_KEY): HTTP 400: bad purpose",
                "create b on openai https://api.example/v1 (env:OPENAI_API_KEY) still pending: create still to do after 6 round(s)",
                "delete gone on openai https://api.example/v1 (env:OPENAI_API_KEY): HTTP 403: forbidden",
            ])
        #expect(list.map(\.cause) == [.notChecked, .failed, .pending, .failed])
    }

    /// Nothing listens at the Azure endpoint (connection refused).
    @Test func providerUnreachable() async throws {
        let port = try StorageEmulator.freePort()
        let workspace = try await Self.workspace(azureBase: "http://127.0.0.1:\(port)")
        defer { Task { await workspace.close() } }
        let started = ContinuousClock.now
        let result = try await FerryProcess.run(["reconcile"], in: workspace)
        // Refused connections fail at once and are retried by Ferry's own policy, not each after a connect timeout.
        #expect(ContinuousClock.now - started < .seconds(30))
        Self.expectReported(result, reason: "transport failure")
        #expect(result.stderr.contains("Connection refused"), "\(result.stderr)")
        Self.expectOthersConverged(workspace)
        try await Self.expectStatusView(workspace, reason: "transport failure", azureState: "unknown")
    }
}
