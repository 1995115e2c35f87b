import FerryCore
import FerryServer
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// Each case runs on SQLite and, when a server is available, on PostgreSQL (`StateBackend.all`).
@Suite("Status server: JSON API, /v1/files, metrics, dashboard")
struct StatusAPITests {
    static let handbookID = UnifiedID.make(for: "employee-handbook")
    static let hostileID = UnifiedID.make(for: Fixture.hostileName)
    static let quotedID = UnifiedID.make(for: Fixture.quotedName)
    static let billingID = UnifiedID.make(for: "faq/billing.md")
    static let pendingID = UnifiedID.make(for: "pending-file")

    /// /api/v1/files lists every declared file with its unified id, status and per-model provider file ids.
    @Test(arguments: StateBackend.all) func filesAPI(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let snapshotAt = try #require(try database.writer.snapshotUpdatedAt())
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v1/files")
            #expect(reply.status == 200)
            #expect(abs((reply.json["snapshotAt"] as? Double ?? 0) - snapshotAt) < 0.001)
            let files = try #require(reply.json["files"] as? [[String: Any]])
            #expect(
                files.compactMap { $0["name"] as? String } == [
                    Fixture.quotedName, Fixture.hostileName, "employee-handbook", "faq/billing.md", "pending-file",
                ])
            let expectedHandbook: [String: Any] = [
                "name": "employee-handbook", "unifiedID": Self.handbookID, "sourcePath": "sources/employee-handbook.md",
                "filename": "employee-handbook.md", "purpose": "assistants", "bytes": 546, "digest": "sha-handbook",
                "targetModels": ["azure-gpt-4o", "gpt-4o", "gpt-4o-mini"], "labels": ["team": "people"],
                "deletionPolicy": "Delete", "declaredBy": "File", "status": "processed", "statusDetails": NSNull(),
                "providerFiles": ["azure-gpt-4o": "assistant-bbb", "gpt-4o": "file-aaa", "gpt-4o-mini": "file-aaa"],
                "observedRevision": NSNull(),
                "conditions": [
                    [
                        "type": "Ready", "status": "True", "reason": "InSync", "message": "2 of 2 placements in sync",
                        "lastTransitionTime": NSNull(),
                    ],
                    [
                        "type": "Reconciling", "status": "False", "reason": "InSync", "message": "",
                        "lastTransitionTime": NSNull(),
                    ],
                    [
                        "type": "Stalled", "status": "False", "reason": "InSync", "message": "",
                        "lastTransitionTime": NSNull(),
                    ],
                ],
            ]
            #expect(same(files[2], expectedHandbook))
            #expect(same(files[1]["filename"], Fixture.hostileFilename))
            #expect(same(files[1]["labels"], ["b": "2", "note": "a \"quoted\", value"]))
            #expect(same(files[1]["status"], "uploaded"))
            #expect(same(files[1]["statusDetails"], "0 of 1 placements in sync"))
            #expect(same(files[0]["filename"], Fixture.quotedFilename))
            #expect(same(files[3]["statusDetails"], "0 of 1 placements in sync, 1 processing"))
            #expect(same(files[3]["declaredBy"], "FileSet"))
            #expect(same(files[4]["status"], "error"))
            #expect(same(files[4]["statusDetails"], "0 of 1 placements in sync, 1 failed"))
            #expect(same(files[4]["providerFiles"], ["azure-gpt-4o": NSNull()]))
            #expect(same(files[4]["deletionPolicy"], "Retain"))
        }
    }

    /// /api/v1/placements: every placement with its state, display state and last error (redacted).
    @Test(arguments: StateBackend.all) func placementsAPI(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v1/placements")
            let placements = try #require(reply.json["placements"] as? [[String: Any]])
            #expect(placements.count == 6)
            #expect(
                placements.compactMap { $0["displayState"] as? String } == [
                    "in-sync", "out-of-sync", "in-sync", "in-sync", "processing", "failed",
                ])
            let expectedPending: [String: Any] = [
                "file": "pending-file", "unifiedID": Self.pendingID, "endpointID": Fixture.azure.id,
                "models": ["azure-gpt-4o"], "state": "out-of-sync", "displayState": "failed", "remoteID": NSNull(),
                "pendingAction": "create", "detail": NSNull(), "retry": NSNull(), "expiresAt": NSNull(),
                "lastError": [
                    "action": "create", "message": Fixture.pendingErrorShown, "at": 1_700_000_380, "attempts": 2,
                ],
            ]
            #expect(same(placements[5], expectedPending))
            #expect(same(placements[1]["file"], Fixture.hostileName))
            #expect(same(placements[1]["pendingAction"], "replace"))
            #expect(same(placements[1]["detail"], "content changed"))
            // The listing's expiry of the file serving a placement (from the state store's listing).
            let billing = placements.first { $0["remoteID"] as? String == "file-ddd" }
            #expect(billing?["expiresAt"] as? Int == Int(Fixture.billingExpiresAt))
            #expect(placements.filter { $0["expiresAt"] is Int }.count == 1)
            let page = try await send(port: port, "/")
            #expect(page.text.contains("expires: <time>"))
            #expect(!reply.text.contains("sk-live"))
            #expect(!reply.text.contains("/home/ci"))
        }
    }

    /// /api/v1/placements?limit=N: pages in (file, endpoint) order, each with has_more and the next cursor, which
    /// together give every placement once; bad limits and cursors are 400s.
    @Test(arguments: StateBackend.all) func placementPages(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let all = try #require(try await send(port: port, "/api/v1/placements").json["placements"] as? [[String: Any]])
            var paged: [[String: Any]] = []
            var after = ""
            var pages = 0
            while true {
                let reply = try await send(port: port, "/api/v1/placements?limit=4" + (after.isEmpty ? "" : "&after=\(after)"))
                #expect(reply.status == 200)
                paged += try #require(reply.json["placements"] as? [[String: Any]])
                pages += 1
                guard reply.json["has_more"] as? Bool == true, let next = reply.json["next"] as? String else {
                    #expect(reply.json["next"] is NSNull)
                    break
                }
                after = next
            }
            #expect(pages == 2)
            #expect(paged.map { "\($0["file"] ?? "")|\($0["endpointID"] ?? "")" } == all.map { "\($0["file"] ?? "")|\($0["endpointID"] ?? "")" })
            #expect(try await send(port: port, "/api/v1/placements?limit=0").status == 400)
            #expect(try await send(port: port, "/api/v1/placements?limit=2&after=%25%25").status == 400)
        }
    }

    /// /api/v1/endpoints: listed, owned and unmanaged counts, last success and last error per endpoint.
    @Test(arguments: StateBackend.all) func endpointsAPI(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v1/endpoints")
            let endpoints = try #require(reply.json["endpoints"] as? [[String: Any]])
            let expected: [[String: Any]] = [
                [
                    "endpointID": Fixture.azure.id, "kind": "azure", "displayName": Fixture.azure.displayName,
                    "baseURL": "http://127.0.0.1:8090", "listed": 1, "owned": 1, "unmanaged": 0, "pages": 1,
                    "observedAt": 1_700_000_360, "lastSuccessAt": 1_700_000_340,
                    "error": "connection refused by 127.0.0.1:8090",
                ],
                [
                    "endpointID": Fixture.openAI.id, "kind": "openai", "displayName": Fixture.openAI.displayName,
                    "baseURL": "http://127.0.0.1:8089/v1", "listed": 5, "owned": 4, "unmanaged": 1, "pages": 1,
                    "observedAt": 1_700_000_350, "lastSuccessAt": 1_700_000_350, "error": NSNull(),
                ],
            ]
            #expect(same(endpoints, expected))
        }
    }

    /// /api/v1/runs: newest first, with durations; `limit` is bounded.
    @Test(arguments: StateBackend.all) func runsAPI(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v1/runs")
            let runs = try #require(reply.json["runs"] as? [[String: Any]])
            // Run ids count per file on SQLite (1, 2) and across workspaces on PostgreSQL: take them from the store.
            let ids = try database.writer.recentRuns(limit: 2).map(\.id)
            try #require(ids.count == 2)
            #expect(backend != .sqlite || ids == [2, 1])
            let expected: [[String: Any]] = [
                [
                    "id": ids[0], "command": "apply", "startedAt": 1_700_000_100, "finishedAt": 1_700_000_103,
                    "durationSeconds": 3, "outcome": "failed", "summary": "1 failed: see <path>", "applied": 1,
                    "failed": 1, "requests": 4, "revision": NSNull(),
                ],
                [
                    "id": ids[1], "command": "reconcile", "startedAt": 1_700_000_000, "finishedAt": 1_700_000_012.5,
                    "durationSeconds": 12.5, "outcome": "converged", "summary": "3 created.", "applied": 3,
                    "failed": 0, "requests": 7, "revision": NSNull(),
                ],
            ]
            #expect(same(runs, expected))
            let one = try await send(port: port, "/api/v1/runs?limit=1")
            #expect((one.json["runs"] as? [[String: Any]])?.count == 1)
            let bad = try await send(port: port, "/api/v1/runs?limit=0")
            #expect(bad.status == 400)
            #expect(same(bad.error["param"], "limit"))
        }
    }

    /// /api/v1/plan: 404 with an error object before any snapshot, then exactly `ferry plan -o json`.
    @Test(arguments: StateBackend.all) func planAPI(_ backend: StateBackend) async throws {
        let database = try TestDatabase(backend: backend)
        try await withServer(database) { port in
            let none = try await send(port: port, "/api/v1/plan")
            #expect(none.status == 404)
            #expect(
                same(
                    none.error["message"],
                    "No plan has been stored yet: run 'ferry plan', 'ferry apply' or 'ferry reconcile' first."))
            try Fixture.populate(database.writer)
            let reply = try await send(port: port, "/api/v1/plan")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "application/json")
            #expect(reply.text == (try Fixture.plan.renderJSON()))
        }
    }

    /// /api/v1/summary: counts per state and readiness.
    @Test(arguments: StateBackend.all) func summaryAPI(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v1/summary")
            #expect(same(reply.json["ready"], true))
            #expect(same(reply.json["lastSuccessfulObservation"], 1_700_000_350))
            #expect(same(reply.json["files"], 5))
            #expect(same(reply.json["endpoints"], 2))
            #expect(
                same(
                    reply.json["placements"],
                    ["in-sync": 3, "out-of-sync": 1, "failed": 1, "processing": 1, "unknown": 0]))
            #expect(same(reply.json["lastConvergedAt"], 1_700_000_012.5))
        }
    }

    /// GET /v1/files: OpenAI's list shape, newest first, with exact file objects.
    @Test(arguments: StateBackend.all) func openAIList(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let snapshotAt = Int64(try #require(try database.writer.snapshotUpdatedAt()))
        try await withServer(database) { port in
            let reply = try await send(port: port, "/v1/files")
            #expect(reply.status == 200)
            #expect(same(reply.json["object"], "list"))
            #expect(reply.ids == [Self.pendingID, Self.hostileID, Self.quotedID, Self.handbookID, Self.billingID])
            #expect(same(reply.json["first_id"], Self.pendingID))
            #expect(same(reply.json["last_id"], Self.billingID))
            #expect(same(reply.json["has_more"], false))
            let expectedHostile: [String: Any] = [
                "id": Self.hostileID, "object": "file", "bytes": 10, "created_at": 1_700_000_300,
                "expires_at": NSNull(), "filename": Fixture.hostileFilename, "purpose": "assistants",
                "status": "uploaded", "status_details": "0 of 1 placements in sync",
            ]
            #expect(same(reply.data[1], expectedHostile))
            #expect(same(reply.data[0]["created_at"], snapshotAt))
            #expect(same(reply.data[3]["status"], "processed"))
            #expect(same(reply.data[3]["status_details"], NSNull()))
            // Escaped for safety, decoded exactly.
            #expect(reply.text.contains("\\u003cimg src=x onerror=alert(1)\\u003e.txt"))
            #expect(same(reply.data[2]["filename"], Fixture.quotedFilename))
        }
    }

    /// `limit` + `after` walk every file exactly once; `order=asc` reverses; `purpose` filters; bad values are 400.
    @Test(arguments: StateBackend.all) func openAIPagination(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let newestFirst = [Self.pendingID, Self.hostileID, Self.quotedID, Self.handbookID, Self.billingID]
        try await withServer(database) { port in
            for (order, expected) in [("desc", newestFirst), ("asc", Array(newestFirst.reversed()))] {
                var seen: [String] = []
                var after: String? = nil
                var pages = 0
                while pages < 10 {
                    let query = "/v1/files?limit=2&order=\(order)" + (after.map { "&after=\($0)" } ?? "")
                    let page = try await send(port: port, query)
                    #expect(page.status == 200)
                    seen += page.ids
                    pages += 1
                    #expect(same(page.json["first_id"], page.ids.first ?? "-"))
                    #expect(same(page.json["last_id"], page.ids.last ?? "-"))
                    guard page.json["has_more"] as? Bool == true else { break }
                    after = page.ids.last
                }
                #expect(seen == expected, "\(order)")
                #expect(pages == 3, "\(order)")
            }
            let afterLast = try await send(port: port, "/v1/files?after=\(Self.billingID)")
            #expect(afterLast.ids.isEmpty)
            #expect(same(afterLast.json["first_id"], NSNull()))
            #expect(same(afterLast.json["has_more"], false))

            let userData = try await send(port: port, "/v1/files?purpose=user_data")
            #expect(userData.ids == [Self.billingID])
            let assistantsAfter = try await send(port: port, "/v1/files?purpose=assistants&after=\(Self.quotedID)")
            #expect(assistantsAfter.ids == [Self.handbookID])

            for (query, param) in [
                ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=abc", "limit"), ("order=up", "order"),
                ("after=file-ferry-unknown", "after"),
            ] {
                let bad = try await send(port: port, "/v1/files?\(query)")
                #expect(bad.status == 400, "\(query)")
                #expect(same(bad.error["param"], param), "\(query)")
                #expect(same(bad.error["type"], "invalid_request_error"), "\(query)")
            }
        }
    }

    /// Cached answers never hide a commit: a change to the database shows in the very next answer.
    @Test(arguments: StateBackend.all) func cacheFollowsCommits(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let before = try await send(port: port, "/v1/files/\(Self.pendingID)")
            #expect(same(before.json["status"], "error"))
            #expect(try await send(port: port, "/v1/files/\(Self.pendingID)").text == before.text)
            let metricsBefore = try await send(port: port, "/metrics").text
            #expect(metricsBefore.contains("ferry_actions_applied_total 4\n"))

            try database.writer.recordOwned(
                Fixture.owned(Fixture.pending, Fixture.azure, "assistant-new", createdAt: 1_700_000_500),
                closingIntent: nil, at: 2)
            let after = try await send(port: port, "/v1/files/\(Self.pendingID)")
            #expect(same(after.json["created_at"], 1_700_000_500))
            #expect(same(after.json["provider_files"], ["azure-gpt-4o": "assistant-new"]))
            #expect(same(after.json["status"], "uploaded"))

            let run = try database.writer.startRun(command: "reconcile", at: 1_700_000_600)
            try database.writer.finishRun(
                run, outcome: "converged", summary: "1 created.", applied: 1, failed: 0, requests: 2, at: 1_700_000_601)
            let metricsAfter = try await send(port: port, "/metrics").text
            #expect(metricsAfter.contains("ferry_actions_applied_total 5\n"))
            #expect(metricsAfter.contains("ferry_last_successful_reconcile_timestamp_seconds 1700000601.0\n"))
        }
    }

    /// GET /v1/files/{id}: the file object plus provider_files; an unknown id is OpenAI's 404 envelope.
    @Test(arguments: StateBackend.all) func openAIRetrieve(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/v1/files/\(Self.handbookID)")
            #expect(reply.status == 200)
            let expected: [String: Any] = [
                "id": Self.handbookID, "object": "file", "bytes": 546, "created_at": 1_700_000_100,
                "expires_at": NSNull(), "filename": "employee-handbook.md", "purpose": "assistants",
                "status": "processed", "status_details": NSNull(),
                "provider_files": ["azure-gpt-4o": "assistant-bbb", "gpt-4o": "file-aaa", "gpt-4o-mini": "file-aaa"],
            ]
            #expect(same(reply.json, expected))
            let pending = try await send(port: port, "/v1/files/\(Self.pendingID)")
            #expect(same(pending.json["provider_files"], ["azure-gpt-4o": NSNull()]))
            #expect(same(pending.json["status"], "error"))

            let missing = try await send(port: port, "/v1/files/file-ferry-000000000000000000000000")
            #expect(missing.status == 404)
            let expectedError: [String: Any] = [
                "message": "No such File object: file-ferry-000000000000000000000000", "type": "invalid_request_error",
                "param": "id", "code": NSNull(),
            ]
            #expect(same(missing.json, ["error": expectedError]))
        }
    }

    /// /metrics: Prometheus text with placements by state, actions, request stats and observation times.
    @Test(arguments: StateBackend.all) func metrics(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let lines = Set(reply.text.split(separator: "\n").map(String.init))
            let openAI = "endpoint=\"\(Fixture.openAI.id)\""
            let azure = "endpoint=\"\(Fixture.azure.id)\""
            let expected = [
                "# TYPE ferry_placements gauge",
                "ferry_placements{state=\"in-sync\"} 3.0",
                "ferry_placements{state=\"out-of-sync\"} 1.0",
                "ferry_placements{state=\"failed\"} 1.0",
                "ferry_placements{state=\"processing\"} 1.0",
                "ferry_placements{state=\"unknown\"} 0.0",
                "ferry_desired_files 5.0",
                "# TYPE ferry_actions_applied_total counter",
                "ferry_actions_applied_total 4",
                "ferry_actions_failed_total 1",
                "ferry_last_successful_reconcile_timestamp_seconds 1700000012.5",
                "ferry_provider_requests_total{\(openAI),operation=\"list\"} 5",
                "ferry_provider_requests_total{\(openAI),operation=\"create\"} 3",
                "ferry_provider_request_failures_total{\(openAI),operation=\"list\"} 1",
                "ferry_provider_request_retries_total{\(openAI),operation=\"list\"} 2",
                "ferry_provider_request_duration_seconds_total{\(openAI),operation=\"list\"} 1.25",
                "ferry_provider_request_duration_seconds_total{\(openAI),operation=\"create\"} 0.5",
                "ferry_endpoint_last_successful_observation_timestamp_seconds{\(openAI)} 1700000350.0",
                "ferry_endpoint_last_successful_observation_timestamp_seconds{\(azure)} 1700000340.0",
                "ferry_endpoint_up{\(openAI)} 1.0",
                "ferry_endpoint_up{\(azure)} 0.0",
                "ferry_endpoint_listed_files{\(openAI)} 5.0",
                "ferry_endpoint_owned_files{\(openAI)} 4.0",
                "ferry_endpoint_unmanaged_files{\(openAI)} 1.0",
            ]
            for line in expected { #expect(lines.contains(line), "\(line)") }
            // Every sample line is `name{labels} value`, and every family has a TYPE line.
            for line in lines where !line.hasPrefix("#") {
                #expect(
                    line.range(of: #"^ferry_[a-z_]+(\{[^}]*\})? [0-9.e+-]+$"#, options: .regularExpression) != nil,
                    "\(line)")
            }
        }
    }

    /// An empty database still serves metrics with zeroes and no reconcile time.
    @Test(arguments: StateBackend.all) func metricsEmpty(_ backend: StateBackend) async throws {
        let database = try TestDatabase(backend: backend)
        try await withServer(database) { port in
            let lines = Set(try await send(port: port, "/metrics").text.split(separator: "\n").map(String.init))
            #expect(lines.contains("ferry_last_successful_reconcile_timestamp_seconds 0.0"))
            #expect(lines.contains("ferry_placements{state=\"in-sync\"} 0.0"))
            #expect(lines.contains("ferry_actions_applied_total 0"))
        }
    }

    /// The dashboard shows states, counts, errors and runs, with every hostile name escaped.
    @Test(arguments: StateBackend.all) func dashboardEscapesAndShowsState(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
            let page = reply.text
            #expect(page.contains("<strong>&lt;script&gt;alert(1)&lt;/script&gt;.md</strong>"))
            #expect(page.contains("<span class=\"fn\">&quot;quotes&quot; &amp; ampersands.md</span>"))
            #expect(page.contains("<strong>&quot;quotes&quot; &amp; ampersands</strong>"))
            #expect(page.contains("<span class=\"fn\">&lt;img src=x onerror=alert(1)&gt;.txt</span>"))
            #expect(!page.contains("<script"))
            #expect(!page.contains("<img"))
            #expect(!page.contains("onerror=alert(1)>"))
            // Placement states, pending actions and the last error, redacted.
            #expect(page.contains("<span class=\"badge failed\">failed</span>"))
            #expect(page.contains("<span class=\"badge out-of-sync\">out of sync</span>"))
            #expect(page.contains("<span class=\"badge processing\">processing</span>"))
            #expect(page.contains("pending: <strong>replace</strong>"))
            #expect(page.contains(html(Fixture.pendingErrorShown)))
            #expect(page.contains("2 attempts"))
            #expect(!page.contains("sk-live"))
            #expect(!page.contains("/home/ci"))
            // Endpoint counts and errors.
            #expect(
                page.contains(
                    "<td data-label=\"Listed\" class=\"num\">5</td><td data-label=\"Owned\" class=\"num\">4</td>"
                        + "<td data-label=\"Unmanaged\" class=\"num\">1</td>"
                ))
            #expect(page.contains("connection refused by 127.0.0.1:8090"))
            #expect(
                page.contains(
                    "Last successful observation: <strong><time>2023-11-14 22:19:10 UTC</time> "
                        + "<span class=\"ago\">(50 s ago)</span></strong>"
                ))
            // Runs with outcome and duration.
            #expect(
                page.contains(
                    "<td data-label=\"Duration\">12.50 s</td>"
                        + "<td data-label=\"Outcome\"><span class=\"badge in-sync\">converged</span></td>"
                ))
            #expect(
                page.contains(
                    "<span class=\"badge failed\">failed</span></td><td data-label=\"Applied\" class=\"num\">1</td>"))
            // Summary cards.
            #expect(page.contains("<div class=\"card in-sync\"><span class=\"n\">3</span> in sync</div>"))
            #expect(page.contains("<div class=\"card\"><span class=\"n\">5</span> declared files</div>"))
            // Phone-friendly, no script.
            #expect(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
            #expect(page.contains("@media (max-width:700px)"))
        }
    }

    /// The dashboard lists the placements needing attention first and says how many it leaves out.
    @Test(arguments: StateBackend.all) func dashboardLimit(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        try await withServer(database, dashboardPlacementLimit: 2) { port in
            let page = try await send(port: port, "/").text
            #expect(page.contains("4 more placements not shown"))
            #expect(page.contains("badge failed"))
            #expect(page.contains("pending: <strong>replace</strong>"))
            #expect(!page.contains("badge in-sync\">in sync</span></td>"))
        }
    }

    /// An empty database renders a page that says nothing has happened yet.
    @Test(arguments: StateBackend.all) func dashboardEmpty(_ backend: StateBackend) async throws {
        let database = try TestDatabase(backend: backend)
        try await withServer(database) { port in
            let page = try await send(port: port, "/").text
            #expect(page.contains("No endpoint has been listed successfully yet."))
            #expect(page.contains("No placements yet"))
            #expect(page.contains("No run recorded yet."))
        }
    }
}

/// HTML escaping as the tests expect it (mirrors the server's rules).
func html(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        .replacingOccurrences(of: "'", with: "&#39;")
}
