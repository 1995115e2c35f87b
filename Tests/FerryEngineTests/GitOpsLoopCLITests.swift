import FerryCore
import FerryEngine
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// The `ferry` executable's loop backoff, upload progress and notifications, against the simulator over HTTP on
/// 127.0.0.1 and a real SQLite state.
@Suite("GitOps loop (executable)", .serialized)
struct GitOpsLoopCLITests {
    // MARK: Backoff in the loop

    /// `reconcile --interval 1s`: a placement that keeps failing is uploaded once, then skipped with "retrying at"
    /// every pass while its endpoint is still listed; the loop keeps its 1 s pace (no pass-level doubling), and the
    /// status view in the same process shows the next attempt.
    @Test func loopSkipsAFailingPlacementAndShowsItsRetry() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("bad", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1], errorStatuses: [400]))
        let started = Date().timeIntervalSince1970
        let ferry = try BackgroundFerry(
            ["reconcile", "--interval", "1s", "--retry-backoff", "1h", "--listen", "127.0.0.1:0"], in: workspace)
        let base = try await ferry.statusURL()
        let deadline = ContinuousClock.now + .seconds(60)
        while ferry.stderr.components(separatedBy: "Next pass in").count - 1 < 4, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let placements = try await fetch(base + "/api/v1/placements").json["placements"] as? [[String: Any]] ?? []
        let dashboard = try await fetch(base + "/").body
        let metrics = try await fetch(base + "/metrics").body
        await ferry.stop()
        #expect(metrics.contains("\nferry_placements_backing_off 1.0\n"), "\(metrics)")
        #expect(dashboard.contains("backing off (1 failure in a row): retrying at <time>"), "\(dashboard)")

        let err = ferry.stderr
        #expect(workspace.simulator.stats().requests["POST /v1/files"] == 1, "\(err)")
        #expect((workspace.simulator.stats().requests["GET /v1/files"] ?? 0) >= 4)
        #expect(err.contains("Skipping create bad on openai"), "\(err)")
        #expect(err.contains("retrying at "))
        let waits = err.components(separatedBy: "\n").filter { $0.hasPrefix("Next pass in") }
        #expect(waits.count >= 4)
        #expect(waits.allSatisfy { $0 == "Next pass in 1s." }, "\(waits)")
        let retry = try #require(placements.first?["retry"] as? [String: Any], "\(placements)")
        let next = try #require(retry["nextAttemptAt"] as? Double)
        #expect(next > started + 3240 && next < Date().timeIntervalSince1970 + 3960, "1 h ±10 %")
        #expect(retry["failures"] as? Int == 1)
        #expect(retry["action"] as? String == "create")
    }

    // MARK: Progress

    /// Without a terminal, a 20 MiB upload prints at most one line per 10 % (ending at 100 %), from the bytes the
    /// client handed to the HTTP client; a small file prints no progress line.
    @Test func uploadProgressWithoutATerminal() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let line = String(repeating: "All work and no play. ", count: 46) + "\n"  // 1,013 bytes
        #expect(line.utf8.count == 1013)
        workspace.write("manifests/docs/big.md", String(repeating: line, count: 20_700))  // 20.0 MiB
        workspace.write(
            "manifests/big.yaml",
            """
            kind: File
            metadata: {name: big}
            spec: {source: docs/big.md, purpose: assistants, targetModels: [gpt-4o-mini]}
            """)
        workspace.declare("small", models: ["gpt-4o-mini"])

        let result = try await FerryProcess.run(["apply", "--auto-approve"], in: workspace)
        #expect(result.status == 0, "\(result.stderr)")
        let progress = result.stderr.components(separatedBy: "\n").filter { $0.contains("uploading big to ") }
        #expect(progress.count >= 2 && progress.count <= 11, "\(progress)")
        #expect(progress.last?.contains(": 100% 20.0 MiB of 20.0 MiB") == true, "\(progress)")
        #expect(progress.last?.contains(" in all") == true)
        let percents = progress.compactMap { line in
            line.range(of: #": [0-9]+%"#, options: .regularExpression).map { Int(line[$0].dropFirst(2).dropLast())! }
        }
        #expect(percents == percents.sorted() && Set(percents).count == percents.count)
        #expect(!result.stderr.contains("uploading small to "))
        let uploaded = try #require(workspace.openAIFiles.first { $0.filename == "big.md" })
        #expect(uploaded.bytes == Int64(1013 * 20_700))
    }

    // MARK: Notifications

    /// A stalled reconcile posts one JSON message to each webhook (flag and FERRY_NOTIFY); the token in a webhook's
    /// path is never printed.
    @Test func stalledPassNotifies() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let one = try await WebhookReceiver()
        let two = try await WebhookReceiver()
        defer { Task { await one.close(); await two.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1], errorStatuses: [400]))

        let result = try await FerryProcess.run(
            ["reconcile", "--notify", one.url("/hooks/T000/SECRET-TOKEN-1"), "--notify", two.url("/h?token=SECRET-2")],
            in: workspace, extraEnvironment: ["FERRY_REVISION": "abc123def"])
        #expect(result.status == 1)
        #expect(!(result.stderr + result.stdout).contains("SECRET"))
        for receiver in [one, two] {
            let posted = try #require(receiver.received.first)
            #expect(receiver.received.count == 1)
            #expect(posted.method == "POST")
            #expect(posted.headers["content-type"] == "application/json")
            let json = posted.json
            #expect(json["event"] as? String == "stalled")
            #expect(json["workspace"] as? String == "default")
            #expect(json["revision"] as? String == "abc123def")
            #expect(json["command"] as? String == "reconcile")
            #expect((json["text"] as? String)?.contains("did not converge") == true)
            #expect((json["counts"] as? [String: Int])?["unconverged"] == 1)
            let placement = try #require((json["placements"] as? [[String: Any]])?.first)
            #expect(placement["file"] as? String == "doc")
            #expect(placement["action"] as? String == "create")
            #expect((placement["reason"] as? String)?.contains("400") == true)
            #expect(json["finishedAt"] as? String != nil)
            #expect(!String(decoding: posted.body, as: UTF8.self).contains(Workspace.openAIKey))
        }

        // FERRY_NOTIFY, comma-separated, when no flag is given; a converged pass posts nothing.
        workspace.simulator.setFaults(.none)
        let healed = try await FerryProcess.run(
            ["reconcile"], in: workspace, extraEnvironment: ["FERRY_NOTIFY": "\(one.url("/a")),\(two.url("/b"))"])
        #expect(healed.status == 0, "\(healed.stderr)")
        #expect(one.received.count == 1 && two.received.count == 1)
    }

    /// A webhook that answers 500, answers after the 5 s timeout, or refuses the connection fails neither the pass
    /// nor its exit code; the warning names only scheme://host.
    @Test func failingOrSlowWebhookNeverFailsThePass() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let failing = try await WebhookReceiver(status: 500)
        let slow = try await WebhookReceiver(delay: .seconds(30))
        let gone = try await WebhookReceiver()
        await gone.close()  // nothing listens there any more: connection refused
        defer { Task { await failing.close(); await slow.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        workspace.simulator.setFaults(FaultPlan(errorRate: ["create": 1], errorStatuses: [400]))

        let started = ContinuousClock.now
        let result = try await FerryProcess.run(
            [
                "apply", "--auto-approve", "--notify", failing.url("/x/SECRET-A"), "--notify", slow.url("/y/SECRET-B"),
                "--notify", gone.url("/z?token=SECRET-C"),
            ], in: workspace)
        let took = ContinuousClock.now - started
        #expect(result.status == 1, "one failed action, as without --notify")
        #expect(result.stderr.contains("Error: create doc on "))
        #expect(failing.received.count == 1 && slow.received.count == 1)
        #expect(
            result.stderr.contains(
                "could not post the stalled notification to http://127.0.0.1:\(failing.port): HTTP 500"),
            "\(result.stderr)")
        #expect(result.stderr.contains("notification to http://127.0.0.1:\(slow.port): timed out after 5s"))
        #expect(result.stderr.contains("notification to http://127.0.0.1:\(gone.port): "))
        #expect(!result.stderr.contains("SECRET"))
        #expect(took < .seconds(25))

        // Converges with the webhook still failing: exit 0.
        workspace.simulator.setFaults(.none)
        let healed = try await FerryProcess.run(
            ["apply", "--auto-approve", "--notify", failing.url("/x/SECRET-A")], in: workspace)
        #expect(healed.status == 0, "\(healed.stderr)")
    }

    /// A prune over the deletion budget is refused and posted as `prune-blocked`.
    @Test func blockedPruneNotifies() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let receiver = try await WebhookReceiver()
        defer { Task { await receiver.close() } }
        for name in ["a", "b", "c"] { workspace.declare(name, models: ["gpt-4o-mini"]) }
        #expect(try await FerryProcess.run(["reconcile"], in: workspace).status == 0)
        workspace.remove("manifests/b.yaml")
        workspace.remove("manifests/c.yaml")

        let result = try await FerryProcess.run(
            ["reconcile", "--max-deletes", "1", "--notify", receiver.url("/hook")], in: workspace)
        #expect(result.status == 1)
        let json = try #require(receiver.received.first).json
        #expect(json["event"] as? String == "prune-blocked")
        #expect(json["counts"] as? [String: Int] == ["deletes": 2, "maxDeletes": 1])
        let files = (json["placements"] as? [[String: Any]] ?? []).compactMap { $0["file"] as? String }
        #expect(files.sorted() == ["b", "c"])
        #expect((json["text"] as? String)?.contains("over the budget of 1") == true)
        #expect(workspace.openAIFiles.count == 3)
    }

    /// A notification URL that is not http(s) is a usage error: exit 1, nothing listed, no state created.
    @Test func badNotifyURLChangesNothing() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc", models: ["gpt-4o-mini"])
        for (arguments, environment) in [
            (["apply", "--auto-approve", "--notify", "ftp://hooks.example/SECRET-X"], [String: String]()),
            (["reconcile"], ["FERRY_NOTIFY": "https://ok.example/a,mailto:SECRET-Y@example.com"]),
            (["reconcile", "--notify", "not a url SECRET-Z"], [:]),
        ] {
            let result = try await FerryProcess.run(arguments, in: workspace, extraEnvironment: environment)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("only http and https are accepted") || result.stderr.contains("not a URL")
                || result.stderr.contains("spaces"), "\(result.stderr)")
            #expect(!result.stderr.contains("SECRET"))
        }
        #expect(workspace.simulator.stats().total == 0)
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath))
    }
}
