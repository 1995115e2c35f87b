import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// Revisions and conditions (GitOps workflow, item 8), end to end: the `ferry` executable records the revision it
/// applied (`FERRY_REVISION`, else git HEAD of the manifests' repository, `-dirty` with uncommitted changes), and
/// `ferry serve` shows it per run and per file, with kstatus-style conditions, over HTTP on 127.0.0.1.
@Suite("Revisions and conditions", .serialized)
struct RevisionTests {
    /// Runs git in `directory`; its trimmed standard output.
    @discardableResult
    static func git(_ arguments: [String], in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "git", "-c", "user.name=Ferry Test", "-c", "user.email=ferry@example.invalid", "-c",
                "commit.gpgsign=false",
            ]
            + arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.launchSerially()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("git \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func condition(_ file: [String: Any]?, _ type: String) -> [String: Any] {
        (file?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == type } ?? [:]
    }

    @Test(arguments: StateBackend.all) func revisionsAndConditions(_ backend: StateBackend) async throws {
        let workspace = try await Workspace(backend: backend)
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o"])
        workspace.declare("faq", models: ["gpt-4o-mini"])

        // 1. No repository and no FERRY_REVISION: no revision, and the run goes on.
        let unknown = try await FerryProcess.run(["plan"], in: workspace)
        #expect(unknown.status == 0, "\(unknown.stdout)\(unknown.stderr)")
        // FERRY_REVISION names the revision.
        let given = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_REVISION": "abc123"])
        #expect(given.status == 0, "\(given.stdout)\(given.stderr)")

        // 2. A real repository, FERRY_REVISION blank: git HEAD.
        try Self.git(["init", "-q"], in: workspace.root)
        let noCommit = try await FerryProcess.run(["plan"], in: workspace)  // a repository without a commit yet
        #expect(noCommit.status == 0, "\(noCommit.stdout)\(noCommit.stderr)")
        workspace.write(".gitignore", "state/\n")
        try Self.git(["add", "-A"], in: workspace.root)
        try Self.git(["commit", "-qm", "manifests"], in: workspace.root)
        let head = try Self.git(["rev-parse", "HEAD"], in: workspace.root)
        #expect(head.count == 40)
        let committed = try await FerryProcess.run(
            ["apply", "--auto-approve"], in: workspace, extraEnvironment: ["FERRY_REVISION": " "])
        #expect(committed.status == 0, "\(committed.stdout)\(committed.stderr)")

        // 3. An uncommitted edit (dirty), applied while the providers refuse every upload: the placements fail.
        workspace.write("manifests/docs/handbook.md", "# handbook\n\nEdited, not committed.\n")
        workspace.write("manifests/notes.txt", "untracked files do not make the revision dirty\n")
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1.0], errorStatuses: [400]))
        let failing = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")

        var state = ["--state", workspace.stateLocation]
        if backend != .sqlite { state += ["--workspace", workspace.stateWorkspace] }
        let serve = try BackgroundFerry(
            ["serve", "--listen", "127.0.0.1:0", "--cache-seconds", "0"] + state, in: workspace, plain: true)
        defer { Task { await serve.stop() } }
        let base = try await serve.statusURL()

        let runs = try #require(try await fetch(base + "/api/v1/runs").json["runs"] as? [[String: Any]])
        #expect(runs.map { $0["command"] as? String } == ["apply", "apply", "plan", "apply", "plan"])
        #expect(runs.map { $0["revision"] as? String } == [head + "-dirty", head, nil, "abc123", nil])
        #expect(runs.allSatisfy { $0.keys.contains("revision") })
        #expect(runs.map { $0["outcome"] as? String } == ["failed", "converged", "planned", "converged", "planned"])

        let files = try await fetch(base + "/api/v1/files").json
        #expect(files["observedRevision"] as? String == head + "-dirty")
        #expect(files["lastAppliedRevision"] as? String == head)
        #expect(files["lastAttemptedRevision"] as? String == head + "-dirty")
        let list = try #require(files["files"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
        #expect(byName["faq"]?["observedRevision"] as? String == head + "-dirty")
        #expect(Self.condition(byName["faq"], "Ready")["status"] as? String == "True")
        #expect(Self.condition(byName["faq"], "Ready")["reason"] as? String == "InSync")
        #expect(Self.condition(byName["faq"], "Stalled")["status"] as? String == "False")

        // The edited file: both uploads of the replacement were refused, and no pass is running: Stalled.
        let handbook = byName["handbook"]
        #expect(handbook?["observedRevision"] as? String == head + "-dirty")
        let stalled = Self.condition(handbook, "Stalled")
        #expect(stalled["status"] as? String == "True", "\(handbook ?? [:])")
        #expect(stalled["reason"] as? String == "ReplaceFailed")
        let message = stalled["message"] as? String ?? ""
        #expect(message.hasPrefix("0 of 2 placements in sync; replace on "), "\(message)")
        #expect(message.contains("failed once: "), "\(message)")
        #expect(message.contains("400"), "\(message)")
        #expect(!message.contains(Workspace.openAIKey))
        #expect(Self.condition(handbook, "Ready")["status"] as? String == "False")
        #expect(Self.condition(handbook, "Ready")["reason"] as? String == "ReplaceFailed")
        #expect(Self.condition(handbook, "Reconciling")["status"] as? String == "False")

        let summary = try await fetch(base + "/api/v1/summary").json
        #expect(summary["lastAppliedRevision"] as? String == head)
        let workspaceStalled = (summary["conditions"] as? [[String: Any]])?.last
        #expect(workspaceStalled?["type"] as? String == "Stalled")
        #expect(workspaceStalled?["status"] as? String == "True")
        #expect((workspaceStalled?["message"] as? String)?.hasPrefix("1 of 3 placements in sync; ") == true)

        let page = try await fetch(base + "/").body
        let short = String(head.prefix(12))
        #expect(page.contains("Revision: observed <code class=\"rev\" title=\"\(head)-dirty\">\(short)-dirty</code>"))
        #expect(page.contains("last applied <code class=\"rev\" title=\"\(head)\">\(short)</code>"))
        #expect(page.contains(">Stalled: ReplaceFailed</span>"))
        #expect(page.contains("Workspace: <span class=\"badge cond failed\" title=\"1 of 3 placements in sync; "))
        #expect(page.contains("<td data-label=\"Revision\"><code class=\"rev\" title=\"abc123\">abc123</code></td>"))

        // Fixed and committed: the next apply converges at the new HEAD, and the file is Ready again.
        workspace.simulator.setFaults(.none)
        workspace.remove("manifests/notes.txt")
        try Self.git(["commit", "-qam", "edit the handbook"], in: workspace.root)
        let fixedHead = try Self.git(["rev-parse", "HEAD"], in: workspace.root)
        let fixed = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        let after = try await fetch(base + "/api/v1/files").json
        #expect(after["lastAppliedRevision"] as? String == fixedHead)
        #expect(after["observedRevision"] as? String == fixedHead)
        let afterFiles = after["files"] as? [[String: Any]] ?? []
        #expect(afterFiles.allSatisfy { Self.condition($0, "Ready")["status"] as? String == "True" }, "\(afterFiles)")
        #expect(await serve.stop() == 0)
    }
}
