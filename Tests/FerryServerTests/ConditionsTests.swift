import FerryCore
import FerryServer
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// The kstatus-style conditions of a declared file, state by state (a pure function), and the revisions.
@Suite("Status conditions and revisions")
struct ConditionsTests {
    typealias Failure = ConditionPlacement.Failure
    static let idle = ConditionContext(passInProgress: false)
    static let busy = ConditionContext(passInProgress: true)

    /// type → (status, reason), and the message of each True condition.
    static func table(_ conditions: [StatusCondition]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: conditions.map { ($0.type.rawValue, "\($0.status.rawValue) \($0.reason)") })
    }

    static func message(_ conditions: [StatusCondition], _ kind: StatusCondition.Kind) -> String? {
        conditions.first { $0.type == kind }?.message
    }

    static let openAI = "openai http://127.0.0.1:1/v1"
    static let azure = "azure http://127.0.0.1:2"

    @Test func everyPlacementInSyncIsReady() {
        let conditions = Conditions.evaluate(
            [ConditionPlacement(endpoint: Self.openAI, state: .inSync), .init(endpoint: Self.azure, state: .inSync)],
            context: Self.busy)
        #expect(conditions.map(\.type) == [.ready, .reconciling, .stalled])
        #expect(
            Self.table(conditions) == [
                "Ready": "True InSync", "Reconciling": "False InSync", "Stalled": "False InSync",
            ])
        #expect(Self.message(conditions, .ready) == "2 of 2 placements in sync")
        #expect(conditions.allSatisfy { $0.lastTransitionTime == nil })
    }

    @Test func noPlacementIsStalled() {
        let conditions = Conditions.evaluate([], context: Self.idle)
        #expect(
            Self.table(conditions) == [
                "Ready": "False NoPlacement", "Reconciling": "False NoPlacement", "Stalled": "True NoPlacement",
            ])
        #expect(Self.message(conditions, .stalled)?.contains("no target model has a files endpoint") == true)
    }

    /// A pending change nobody is applying yet (after `ferry plan`): Reconciling, waiting for apply.
    @Test func pendingChangeWaitsForApply() {
        let conditions = Conditions.evaluate(
            [
                ConditionPlacement(endpoint: Self.openAI, state: .inSync),
                ConditionPlacement(endpoint: Self.azure, state: .outOfSync, pendingAction: "create"),
            ], context: Self.idle)
        #expect(
            Self.table(conditions) == [
                "Ready": "False OutOfSync", "Reconciling": "True OutOfSync", "Stalled": "False OutOfSync",
            ])
        #expect(
            Self.message(conditions, .reconciling)
                == "1 of 2 placements in sync; create pending on \(Self.azure); waiting for 'ferry apply' or 'ferry reconcile'"
        )
        #expect(Self.message(conditions, .stalled) == "")
    }

    @Test func pendingChangeDuringAPassIsProgressing() {
        let conditions = Conditions.evaluate(
            [ConditionPlacement(endpoint: Self.azure, state: .outOfSync, pendingAction: "replace")], context: Self.busy)
        #expect(Self.table(conditions)["Reconciling"] == "True Progressing")
        #expect(Self.table(conditions)["Ready"] == "False Progressing")
        #expect(Self.table(conditions)["Stalled"] == "False Progressing")
    }

    @Test func providerProcessing() {
        let conditions = Conditions.evaluate(
            [ConditionPlacement(endpoint: Self.openAI, state: .processing)], context: Self.idle)
        #expect(Self.table(conditions)["Reconciling"] == "True Processing")
        #expect(
            Self.message(conditions, .reconciling) == "0 of 1 placement in sync; \(Self.openAI) is processing the file")
    }

    /// A failure that a running pass may still retry (fewer than 3 attempts): Reconciling with retry, not Stalled.
    @Test func failureDuringAPassIsRetried() {
        let failing = ConditionPlacement(
            endpoint: Self.openAI, state: .outOfSync, pendingAction: "create",
            failure: Failure(action: "create", message: "HTTP 503", attempts: 2))
        let conditions = Conditions.evaluate([failing], context: Self.busy)
        #expect(
            Self.table(conditions) == [
                "Ready": "False ProgressingWithRetry", "Reconciling": "True ProgressingWithRetry",
                "Stalled": "False ProgressingWithRetry",
            ])
        #expect(
            Self.message(conditions, .reconciling)?.contains("create on \(Self.openAI) failed 2 times: HTTP 503")
                == true)
    }

    /// Three attempts make a failure Stalled even while a pass runs; so does any failure once no pass is running.
    @Test func repeatedOrAbandonedFailureIsStalled() {
        let third = ConditionPlacement(
            endpoint: Self.openAI, state: .outOfSync, pendingAction: "create",
            failure: Failure(action: "create", message: "HTTP 400: invalid purpose", attempts: 3))
        let busy = Conditions.evaluate(
            [ConditionPlacement(endpoint: Self.azure, state: .inSync), third], context: Self.busy)
        #expect(
            Self.table(busy) == [
                "Ready": "False CreateFailed", "Reconciling": "False CreateFailed", "Stalled": "True CreateFailed",
            ])
        #expect(
            Self.message(busy, .stalled)
                == "1 of 2 placements in sync; create on \(Self.openAI) failed 3 times: HTTP 400: invalid purpose")
        #expect(Self.message(busy, .ready) == Self.message(busy, .stalled))

        var once = third
        once.failure?.attempts = 1
        once.failure?.action = "expire-intent"
        let idle = Conditions.evaluate([once], context: Self.idle)
        #expect(Self.table(idle)["Stalled"] == "True ExpireIntentFailed")
        #expect(
            Self.message(idle, .stalled)?.hasSuffix(
                "expire-intent on \(Self.openAI) failed once: HTTP 400: invalid purpose") == true)
        // A terminal failure (retrying cannot help) is Stalled at once, even while a pass runs.
        let terminal = ConditionPlacement(
            endpoint: Self.openAI, state: .outOfSync,
            failure: Failure(
                action: "create", message: "HTTP 400 [invalid_request_error]; terminal", attempts: 1,
                terminal: true))
        #expect(Self.table(Conditions.evaluate([terminal], context: Self.busy))["Stalled"] == "True CreateFailed")
        #expect(ConditionPlacement.Failure.isTerminal("create failed: HTTP error (HTTP 400): bad. [400]; terminal"))
        #expect(!ConditionPlacement.Failure.isTerminal("create failed: HTTP error (HTTP 503): busy. [503]; retryable"))
        // With a custom threshold, one attempt during a pass is enough.
        let strict = Conditions.evaluate([once], context: ConditionContext(passInProgress: true, stallAttempts: 1))
        #expect(Self.table(strict)["Stalled"] == "True ExpireIntentFailed")
    }

    /// An endpoint that cannot be listed: nothing is known about the placement (Ready Unknown), and Ferry cannot act.
    @Test func unlistedEndpoint() {
        let unlisted = ConditionPlacement(
            endpoint: Self.azure, state: .unknown, listingError: "connection refused by 127.0.0.1:2")
        let idle = Conditions.evaluate(
            [ConditionPlacement(endpoint: Self.openAI, state: .inSync), unlisted], context: Self.idle)
        #expect(
            Self.table(idle) == [
                "Ready": "Unknown ListFailed", "Reconciling": "False ListFailed", "Stalled": "True ListFailed",
            ])
        #expect(
            Self.message(idle, .stalled)
                == "1 of 2 placements in sync; \(Self.azure) could not be listed: connection refused by 127.0.0.1:2")
        let busy = Conditions.evaluate([unlisted], context: Self.busy)
        #expect(Self.table(busy)["Reconciling"] == "True ProgressingWithRetry")
        #expect(Self.table(busy)["Ready"] == "Unknown ProgressingWithRetry")
        // A failed placement elsewhere makes Ready False, and the first stalled placement names the reason.
        let failed = ConditionPlacement(
            endpoint: Self.openAI, state: .outOfSync,
            failure: Failure(action: "delete", message: "HTTP 500", attempts: 4))
        let both = Conditions.evaluate([failed, unlisted], context: Self.idle)
        #expect(Self.table(both)["Ready"] == "False DeleteFailed")
        #expect(Self.message(both, .stalled)?.contains("could not be listed") == true)
    }

    /// A message names at most 5 placements and counts the others (the workspace's conditions cover every file).
    @Test func longMessagesAreCut() {
        let failing = (1...8).map {
            ConditionPlacement(
                endpoint: "e\($0)", state: .outOfSync,
                failure: Failure(action: "create", message: "HTTP 500", attempts: 1))
        }
        let conditions = Conditions.evaluate(inSync: 2, others: failing, context: Self.idle)
        #expect(
            Self.message(conditions, .stalled)
                == "2 of 10 placements in sync; "
                + (1...5).map { "create on e\($0) failed once: HTTP 500" }.joined(separator: "; ") + "; and 3 more")
    }

    /// Whatever the placements, all three conditions are present and Stalled and Reconciling are never both True;
    /// Ready is True exactly when every placement is in sync.
    @Test func invariants() {
        let variants: [ConditionPlacement] = [
            .init(endpoint: "a", state: .inSync),
            .init(endpoint: "b", state: .outOfSync, pendingAction: "create"),
            .init(endpoint: "c", state: .processing),
            .init(endpoint: "d", state: .unknown, listingError: "down"),
            .init(endpoint: "e", state: .outOfSync, failure: Failure(action: "create", message: "x", attempts: 1)),
            .init(endpoint: "f", state: .outOfSync, failure: Failure(action: "replace", message: "y", attempts: 5)),
        ]
        for mask in 0..<(1 << variants.count) {
            let chosen = variants.indices.filter { mask & (1 << $0) != 0 }.map { variants[$0] }
            for context in [Self.idle, Self.busy] {
                let conditions = Conditions.evaluate(chosen, context: context)
                #expect(conditions.map(\.type) == [.ready, .reconciling, .stalled])
                let status = Dictionary(uniqueKeysWithValues: conditions.map { ($0.type, $0.status) })
                #expect(!(status[.stalled] == .true && status[.reconciling] == .true))
                let allInSync = !chosen.isEmpty && chosen.allSatisfy { $0.state == .inSync }
                #expect((status[.ready] == .true) == allInSync)
                #expect(allInSync || status[.stalled] == .true || status[.reconciling] == .true)
                #expect(conditions.allSatisfy { !$0.reason.isEmpty && $0.reason.first!.isUppercase })
            }
        }
    }

    /// Revisions from recorded runs: the snapshot's run (started before it; drift runs store none), the latest
    /// converged apply or reconcile, and the latest apply or reconcile whatever its outcome.
    @Test(arguments: StateBackend.all) func revisionsFromRuns(_ backend: StateBackend) throws {
        let database = try TestDatabase(backend: backend)
        let store = database.writer
        #expect(RevisionStatus(runs: try store.recentRuns(limit: 10), snapshotAt: nil) == RevisionStatus())
        let first = try store.startRun(command: "reconcile", revision: "r1", at: 100)
        try store.finishRun(first, outcome: "converged", summary: "", applied: 1, failed: 0, requests: 1, at: 110)
        let plan = try store.startRun(command: "plan", revision: "r2", at: 200)
        try store.finishRun(plan, outcome: "planned", summary: "", applied: 0, failed: 0, requests: 1, at: 201)
        let failed = try store.startRun(command: "apply", revision: "r2", at: 300)
        try store.finishRun(failed, outcome: "failed", summary: "", applied: 0, failed: 1, requests: 1, at: 301)
        let drift = try store.startRun(command: "drift", revision: "r3", at: 400)
        try store.finishRun(drift, outcome: "planned", summary: "", applied: 0, failed: 0, requests: 1, at: 401)
        _ = try store.startRun(command: "apply", at: 500)  // running, revision unknown
        let runs = try store.recentRuns(limit: 10)

        let atPlan = RevisionStatus(runs: runs, snapshotAt: 200.5)
        #expect(atPlan.observed == "r2")
        #expect(atPlan.observedRunID == plan)
        #expect(atPlan.lastApplied == "r1")
        #expect(atPlan.lastAppliedAt == 110)
        #expect(atPlan.lastAttempted == nil)  // the running apply knows no revision
        let afterDrift = RevisionStatus(runs: runs, snapshotAt: 450)
        #expect(afterDrift.observedRunID == failed)
        #expect(afterDrift.observed == "r2")
        let beforeAll = RevisionStatus(runs: runs, snapshotAt: 50)
        #expect(beforeAll.observed == nil && beforeAll.observedRunID == nil)
    }

    /// Over HTTP: revisions on the summary, the files and the runs, conditions per file and for the workspace,
    /// and how a pass in progress (the writer lease held) turns a failure under 3 attempts into a retry.
    @Test(arguments: StateBackend.all) func conditionsOverHTTP(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let store = database.writer
        // The fixture's snapshot is stored at 1_700_000_400: a plan of r2 stored it; r1 converged before.
        let converged = try store.startRun(command: "reconcile", revision: "r1", at: 1_700_000_390)
        try store.finishRun(
            converged, outcome: "converged", summary: "ok", applied: 0, failed: 0, requests: 1, at: 1_700_000_391)
        let plan = try store.startRun(command: "plan", revision: "r2", at: 1_700_000_395)
        try store.finishRun(
            plan, outcome: "planned", summary: "ok", applied: 0, failed: 0, requests: 1, at: 1_700_000_396)
        try await withServer(database) { port in
            let files = try await send(port: port, "/api/v1/files").json
            #expect(same(files["observedRevision"], "r2"))
            #expect(same(files["lastAppliedRevision"], "r1"))
            #expect(same(files["lastAttemptedRevision"], "r1"))
            let list = try #require(files["files"] as? [[String: Any]])
            let byName = Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
            #expect(same(byName["employee-handbook"]?["observedRevision"], "r2"))
            let pending = try #require(byName["pending-file"]?["conditions"] as? [[String: Any]])
            #expect(pending.map { $0["type"] as? String } == ["Ready", "Reconciling", "Stalled"])
            #expect(same(pending[2]["status"], "True"))
            #expect(same(pending[2]["reason"], "CreateFailed"))
            #expect(same(pending[2]["lastTransitionTime"], NSNull()))
            let message = pending[2]["message"] as? String ?? ""
            #expect(message.contains("create on azure http://127.0.0.1:8090 (env:AZURE_API_KEY) failed 2 times"))
            #expect(message.contains("failed 2 times: " + Fixture.pendingErrorShown))
            #expect(!message.contains("sk-live"))
            let billing = try #require(byName["faq/billing.md"]?["conditions"] as? [[String: Any]])
            #expect(
                same(
                    billing[1],
                    [
                        "type": "Reconciling", "status": "True", "reason": "Processing",
                        "message":
                            "0 of 1 placement in sync; openai http://127.0.0.1:8089/v1 (env:OPENAI_API_KEY) is processing the file",
                        "lastTransitionTime": NSNull(),
                    ] as [String: Any]))

            let summary = try await send(port: port, "/api/v1/summary").json
            #expect(same(summary["observedRevision"], "r2"))
            #expect(same(summary["lastAppliedRevision"], "r1"))
            #expect(same(summary["lastAppliedAt"], 1_700_000_391))
            let workspace = try #require(summary["conditions"] as? [[String: Any]])
            #expect(same(workspace[0]["status"], "False"))
            #expect(same(workspace[2]["status"], "True"))
            #expect(same(workspace[2]["reason"], "CreateFailed"))
            #expect((workspace[2]["message"] as? String)?.hasPrefix("3 of 6 placements in sync; ") == true)

            let runs = try #require(try await send(port: port, "/api/v1/runs").json["runs"] as? [[String: Any]])
            #expect(runs.map { $0["revision"] as? String } == ["r2", "r1", nil, nil])

            let metrics = Set(try await send(port: port, "/metrics").text.split(separator: "\n").map(String.init))
            for line in [
                "ferry_files_condition{type=\"Ready\",status=\"True\"} 2.0",
                "ferry_files_condition{type=\"Ready\",status=\"False\"} 3.0",
                "ferry_files_condition{type=\"Ready\",status=\"Unknown\"} 0.0",
                "ferry_files_condition{type=\"Reconciling\",status=\"True\"} 2.0",
                "ferry_files_condition{type=\"Stalled\",status=\"True\"} 1.0",
                "ferry_files_condition{type=\"Stalled\",status=\"False\"} 4.0",
                "ferry_revision_info{kind=\"observed\",revision=\"r2\"} 1.0",
                "ferry_revision_info{kind=\"last_applied\",revision=\"r1\"} 1.0",
                "ferry_revision_info{kind=\"last_attempted\",revision=\"r1\"} 1.0",
            ] {
                #expect(metrics.contains(line), "\(line)")
            }

            let page = try await send(port: port, "/").text
            #expect(
                page.contains(
                    "Revision: observed <code class=\"rev\" title=\"r2\">r2</code> · last applied <code class=\"rev\" title=\"r1\">r1</code>"
                ))
            #expect(page.contains(">Stalled: CreateFailed</span>"))
            #expect(
                page.contains(
                    "<p class=\"meta\">Workspace: <span class=\"badge cond failed\" title=\"3 of 6 placements"))
            #expect(page.contains(">Reconciling: Processing</span>"))
            #expect(page.contains(">Ready</span>"))
            #expect(page.contains("<td data-label=\"Revision\"><code class=\"rev\" title=\"r2\">r2</code></td>"))
        }
        // An apply of r3 is running (it holds the writer lease): the failure may be retried, and r3 is attempted.
        _ = try store.startRun(command: "apply", revision: "r3", at: 1_700_000_401)
        #expect(try store.acquireLease(holder: "host pid 1 #a apply", ttl: 60, now: 1_700_000_401) == nil)
        try await withServer(database) { port in
            let files = try await send(port: port, "/api/v1/files").json
            #expect(same(files["observedRevision"], "r2"))  // the snapshot is still the plan's
            #expect(same(files["lastAttemptedRevision"], "r3"))
            #expect(same(files["lastAppliedRevision"], "r1"))
            let list = try #require(files["files"] as? [[String: Any]])
            let pending = try #require(
                list.first { same($0["name"], "pending-file") }?["conditions"] as? [[String: Any]])
            #expect(same(pending[1]["status"], "True"))
            #expect(same(pending[1]["reason"], "ProgressingWithRetry"))
            #expect(same(pending[2]["status"], "False"))
            let metrics = try await send(port: port, "/metrics").text
            #expect(metrics.contains("ferry_files_condition{type=\"Reconciling\",status=\"True\"} 3.0"))
            #expect(metrics.contains("ferry_files_condition{type=\"Stalled\",status=\"True\"} 0.0"))
            let page = try await send(port: port, "/").text
            #expect(page.contains("last attempted <code class=\"rev\" title=\"r3\">r3</code>"))
        }
    }
}
