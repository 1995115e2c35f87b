import FerryCore
import FerryStore
import Foundation
import Hummingbird

/// Everything the HTML dashboard shows, read in one go.
struct DashboardData: Sendable {
    /// Where each vector store stands (empty when none is declared).
    var vectorStores: [VectorStoreStatus] = []
    var counts: [String: Int]
    var placements: [PlacementRecord]
    var files: Int
    var endpoints: [EndpointRecord]
    var runs: [RunRecord]
    var snapshotAt: Double?
    /// Which revision the page reflects, and what was last applied.
    var revisions = RevisionStatus()
    /// Conditions of the files that have a placement on the page, by file name.
    var fileConditions: [String: [StatusCondition]] = [:]
    /// The workspace's conditions over every placement; nil before the first snapshot or without placements.
    var workspaceConditions: [StatusCondition]?
}

extension StatusView {
    /// `GET /`: the server-rendered dashboard.
    func dashboard() async throws -> Payload {
        let placementLimit = configuration.dashboardPlacementLimit
        let runLimit = configuration.dashboardRunLimit
        let clock = configuration.now
        let redact = self.redact
        // The page's "now" is read with its data, off the cooperative pool like every read.
        let (data, now) = try await read { store in
            let now = clock().timeIntervalSince1970
            var data = DashboardData(
                counts: try store.placementStateCounts(),
                placements: try store.placementRecords(attentionFirst: true, limit: placementLimit),
                files: try store.desiredFileCount(), endpoints: try store.endpointRecords(),
                runs: try store.recentRuns(limit: runLimit), snapshotAt: try store.snapshotUpdatedAt())
            data.vectorStores = try store.vectorStoreStatuses()
            let inputs = try ConditionInputs.read(store, endpoints: data.endpoints, now: now, redact: redact)
            data.revisions = inputs.revisions
            // A file's conditions need all of its placements: the page's rows when it shows every placement, else
            // one read per file shown.
            let complete = data.placements.count >= data.counts.values.reduce(0, +)
            let shown = Dictionary(grouping: data.placements, by: \.status.file)
            for (file, records) in shown {
                let all = try complete ? records : store.placementRecords(file: file)
                data.fileConditions[file] = inputs.conditions(all, redact: redact)
            }
            // The workspace's: every placement not in sync (they come first), the page's rows when they hold them all.
            let inSync = data.counts["in-sync"] ?? 0
            let notInSync = data.counts.values.reduce(0, +) - inSync
            if inSync + notInSync > 0 {
                let attention =
                    try notInSync <= data.placements.count
                    ? Array(data.placements.prefix(notInSync))
                    : store.placementRecords(attentionFirst: true, limit: notInSync)
                data.workspaceConditions = Conditions.evaluate(
                    inSync: inSync,
                    others: attention.filter { $0.status.state != .inSync }.map { inputs.placement($0, redact: redact) },
                    context: inputs.context)
            }
            return (data, now)
        }
        return .text(
            DashboardPage(data: data, now: now, redact: redact, retries: retrySchedule()).render(),
            contentType: "text/html; charset=utf-8")
    }
}

/// The dashboard's HTML. Every value from the store goes through `html(_:)`; no script, inline CSS only.
struct DashboardPage {
    let data: DashboardData
    let now: Double
    let redact: Redactor
    /// The reconcile loop's backoff book (same process), by placement.
    var retries: [PlacementKey: PlacementRetryStatus] = [:]

    private static let stateLabels: [String: String] = [
        "in-sync": "in sync", "out-of-sync": "out of sync", "failed": "failed", "processing": "processing",
        "unknown": "unknown",
    ]

    func render() -> String {
        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Ferry status</title>
            <style>\(Self.css)</style>
            </head>
            <body>
            <header>
            <h1>Ferry status</h1>

            """
        let lastObservation = data.endpoints.compactMap(\.lastSuccessAt).max()
        out += "<p class=\"meta\">"
        if let lastObservation {
            out += "Last successful observation: <strong>\(time(Double(lastObservation)))</strong>"
        } else {
            out += "<span class=\"badge unknown\">not ready</span> No endpoint has been listed successfully yet."
        }
        if let snapshotAt = data.snapshotAt { out += " · Last plan: \(time(snapshotAt))" }
        out += " · Rendered \(html(TimeText.utc(now)))</p>\n"
        out += revisionLine()
        out += "</header>\n<main>\n"
        out += summary()
        out += placements()
        out += vectorStores()
        out += endpoints()
        out += runs()
        out += """
            </main>
            <footer>JSON: <a href="/api/v1/summary">summary</a> · <a href="/api/v1/files">files</a> ·
            <a href="/api/v1/placements">placements</a> · <a href="/api/v1/endpoints">endpoints</a> ·
            <a href="/api/v1/runs">runs</a> · <a href="/api/v1/plan">plan</a> · <a href="/api/v1/vector-stores">vector stores</a> ·
            <a href="/v1/files">/v1/files</a> ·
            <a href="/metrics">metrics</a></footer>
            </body>
            </html>

            """
        return out
    }

    private func time(_ seconds: Double) -> String {
        let ago = html(TimeText.ago(seconds, now: now))
        return "<time>\(html(TimeText.utc(seconds)))</time> <span class=\"ago\">(\(ago))</span>"
    }

    private func badge(_ state: String) -> String {
        "<span class=\"badge \(html(state))\">\(html(Self.stateLabels[state] ?? state))</span>"
    }

    /// `Revision: observed … · last applied … (when) · last attempted …`.
    private func revisionLine() -> String {
        let revisions = data.revisions
        func code(_ revision: String?) -> String {
            guard let revision else { return "<span class=\"ago\">unknown</span>" }
            return "<code class=\"rev\" title=\"\(html(revision))\">\(html(Self.short(revision)))</code>"
        }
        var out = "<p class=\"meta\">"
        if let conditions = data.workspaceConditions { out += "Workspace: \(conditionBadge(conditions)) · " }
        out += "Revision: observed \(code(revisions.observed))"
        out += " · last applied \(code(revisions.lastApplied))"
        if let at = revisions.lastAppliedAt { out += " \(time(at))" }
        if revisions.lastAttempted != revisions.lastApplied {
            out += " · last attempted \(code(revisions.lastAttempted))"
        }
        return out + "</p>\n"
    }

    /// A git commit id shortened to 12 hex digits (keeping `-dirty`); anything else as given.
    static func short(_ revision: String) -> String {
        let (head, suffix) =
            revision.hasSuffix("-dirty") ? (String(revision.dropLast(6)), "-dirty") : (revision, "")
        guard head.count == 40 || head.count == 64, head.allSatisfy(\.isHexDigit) else { return revision }
        return String(head.prefix(12)) + suffix
    }

    /// The file's state as one badge: Ready, Stalled or Reconciling with its reason; the message as a tooltip.
    private func conditionBadge(_ conditions: [StatusCondition]) -> String {
        guard let ready = conditions[.ready] else { return "" }
        let shown: (tone: String, label: String, message: String)
        if let stalled = conditions[.stalled], stalled.status == .true {
            shown = ("failed", "Stalled: \(stalled.reason)", stalled.message)
        } else if let reconciling = conditions[.reconciling], reconciling.status == .true {
            shown = ("processing", "Reconciling: \(reconciling.reason)", reconciling.message)
        } else if ready.status == .true {
            shown = ("in-sync", "Ready", ready.message)
        } else {
            shown = ("unknown", "Ready \(ready.status.rawValue): \(ready.reason)", ready.message)
        }
        return "<span class=\"badge cond \(shown.tone)\" title=\"\(html(shown.message))\">"
            + "\(html(shown.label))</span>"
    }

    private func summary() -> String {
        var out = "<section class=\"cards\" aria-label=\"Summary\">\n"
        out += "<div class=\"card\"><span class=\"n\">\(data.files)</span> declared files</div>\n"
        out += "<div class=\"card\"><span class=\"n\">\(data.endpoints.count)</span> endpoints</div>\n"
        for state in StatusView.states {
            let count = data.counts[state] ?? 0
            let label = html(Self.stateLabels[state] ?? state)
            out += "<div class=\"card \(state)\"><span class=\"n\">\(count)</span> \(label)</div>\n"
        }
        return out + "</section>\n"
    }

    private func placements() -> String {
        let total = data.counts.values.reduce(0, +)
        var out = "<section>\n<h2>Placements <small>(\(total))</small></h2>\n"
        guard !data.placements.isEmpty else {
            return out
                + "<p class=\"empty\">No placements yet: run 'ferry plan' or 'ferry reconcile'.</p>\n</section>\n"
        }
        out += """
            <div class="scroll"><table>
            <thead><tr><th>File</th><th>Endpoint</th><th>Models</th><th>State</th><th>Details</th></tr></thead>
            <tbody>

            """
        for record in data.placements {
            let status = record.status
            let state = record.displayState
            var details: [String] = []
            if let pending = status.pendingAction, status.state != .inSync {
                details.append("pending: <strong>\(html(pending.rawValue))</strong>")
            }
            if let error = record.error {
                let attempts = "\(error.attempts) attempt\(error.attempts == 1 ? "" : "s")"
                details.append(
                    "<span class=\"error\">last error (\(html(error.action)), \(attempts), \(time(Double(error.at)))): "
                        + "\(html(redact.redact(error.message)))</span>")
            }
            if let retry = retries[PlacementKey(file: status.file, endpointID: status.endpointID)] {
                let failures = "\(retry.failures) failure\(retry.failures == 1 ? "" : "s") in a row"
                details.append("backing off (\(failures)): retrying at <time>\(html(TimeText.utc(retry.nextAttemptAt)))</time>")
            }
            if let detail = redact(status.detail), !detail.isEmpty { details.append(html(detail)) }
            if let remote = status.remoteID { details.append("file: <code>\(html(remote))</code>") }
            if let expires = record.expiresAt {
                details.append("expires: <time>\(html(TimeText.utc(Double(expires))))</time>")
            }
            out += "<tr class=\"\(html(state))\">"
            out +=
                "<td data-label=\"File\"><strong>\(html(status.file))</strong>"
                + (record.filename.map { "<br><span class=\"fn\">\(html($0))</span>" } ?? "")
                + "<br><code class=\"id\">\(html(status.unifiedID))</code>"
                + (data.fileConditions[status.file].map { "<br>" + conditionBadge($0) } ?? "") + "</td>"
            out += "<td data-label=\"Endpoint\">\(html(endpointName(status.endpointID)))</td>"
            out += "<td data-label=\"Models\">\(html(status.models.joined(separator: ", ")))</td>"
            out += "<td data-label=\"State\">\(badge(state))</td>"
            out += "<td data-label=\"Details\">\(details.joined(separator: "<br>"))</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        if total > data.placements.count {
            out +=
                "<p class=\"more\">\(total - data.placements.count) more placements not shown (the ones needing "
                + "attention come first). Full list: <a href=\"/api/v1/placements\">/api/v1/placements</a>.</p>\n"
        }
        return out + "</section>\n"
    }

    private func endpointName(_ id: String) -> String {
        data.endpoints.first { $0.id == id }?.displayName ?? id
    }

    private func endpoints() -> String {
        var out = "<section>\n<h2>Endpoints <small>(\(data.endpoints.count))</small></h2>\n"
        guard !data.endpoints.isEmpty else {
            return out + "<p class=\"empty\">No endpoint has been observed yet.</p>\n</section>\n"
        }
        out += """
            <div class="scroll"><table>
            <thead><tr><th>Endpoint</th><th>Kind</th><th class="num">Listed</th><th class="num">Owned</th>
            <th class="num">Unmanaged</th><th>Last successful observation</th><th>Last error</th></tr></thead>
            <tbody>

            """
        for endpoint in data.endpoints {
            out += "<tr>"
            out +=
                "<td data-label=\"Endpoint\"><strong>\(html(endpoint.displayName))</strong>"
                + "<br><code class=\"id\">\(html(endpoint.id))</code></td>"
            out += "<td data-label=\"Kind\">\(html(endpoint.kind))</td>"
            out += "<td data-label=\"Listed\" class=\"num\">\(endpoint.listed.map(String.init) ?? "–")</td>"
            out += "<td data-label=\"Owned\" class=\"num\">\(endpoint.owned)</td>"
            out += "<td data-label=\"Unmanaged\" class=\"num\">\(endpoint.unmanaged)</td>"
            out +=
                "<td data-label=\"Last successful observation\">"
                + (endpoint.lastSuccessAt.map { time(Double($0)) } ?? "never") + "</td>"
            if let error = redact(endpoint.error) {
                out +=
                    "<td data-label=\"Last error\"><span class=\"error\">\(html(error))</span>"
                    + (endpoint.observedAt.map { "<br>" + time(Double($0)) } ?? "") + "</td>"
            } else {
                out += "<td data-label=\"Last error\">none</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table></div>\n</section>\n"
    }

    private func runs() -> String {
        var out = "<section>\n<h2>Recent runs</h2>\n"
        guard !data.runs.isEmpty else { return out + "<p class=\"empty\">No run recorded yet.</p>\n</section>\n" }
        out += """
            <div class="scroll"><table>
            <thead><tr><th>#</th><th>Command</th><th>Revision</th><th>Started</th><th>Duration</th><th>Outcome</th>
            <th class="num">Applied</th><th class="num">Failed</th><th>Summary</th></tr></thead>
            <tbody>

            """
        for run in data.runs {
            let outcome = run.outcome ?? "running"
            let tone: String
            switch outcome {
            case "converged", "planned", "applied": tone = "in-sync"
            case "failed", "not-converged": tone = "failed"
            case "refused": tone = "out-of-sync"
            default: tone = "processing"
            }
            out += "<tr>"
            out += "<td data-label=\"#\">\(run.id)</td>"
            out += "<td data-label=\"Command\">\(html(run.command))</td>"
            out +=
                "<td data-label=\"Revision\">"
                + (run.revision.map { "<code class=\"rev\" title=\"\(html($0))\">\(html(Self.short($0)))</code>" }
                    ?? "–") + "</td>"
            out += "<td data-label=\"Started\">\(time(run.startedAt))</td>"
            let duration = run.finishedAt.map { html(TimeText.duration($0 - run.startedAt)) } ?? "–"
            out += "<td data-label=\"Duration\">\(duration)</td>"
            out += "<td data-label=\"Outcome\"><span class=\"badge \(tone)\">\(html(outcome))</span></td>"
            out += "<td data-label=\"Applied\" class=\"num\">\(run.applied)</td>"
            out += "<td data-label=\"Failed\" class=\"num\">\(run.failed)</td>"
            out += "<td data-label=\"Summary\">\(html(redact(run.summary) ?? ""))</td></tr>\n"
        }
        return out + "</tbody></table></div>\n</section>\n"
    }

    static let css = """
        :root{color-scheme:light dark;--fg:#1d2330;--muted:#5b6474;--bg:#f6f7f9;--card:#fff;--line:#dde1e7;\
        --ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--none:#6e7781}
        @media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa3ad;--bg:#0f1217;--card:#171b22;\
        --line:#2b313b;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--info:#58a6ff;--none:#8b949e}}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);\
        background:var(--bg)}
        header,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
        h1{font-size:1.5rem;margin:20px 0 4px}h2{font-size:1.15rem;margin:28px 0 10px}h2 small{color:var(--muted);\
        font-weight:400}
        .meta,.more,.empty,footer{color:var(--muted)}footer{padding-bottom:32px;margin-top:24px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:10px;margin-top:16px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;\
        color:var(--muted)}
        .card .n{display:block;font-size:1.6rem;font-weight:650;color:var(--fg)}
        .card.in-sync .n{color:var(--ok)}.card.out-of-sync .n{color:var(--warn)}.card.failed .n{color:var(--bad)}\
        .card.processing .n{color:var(--info)}.card.unknown .n{color:var(--none)}
        .scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
        table{border-collapse:collapse;width:100%}
        th,td{text-align:left;vertical-align:top;padding:8px 10px;border-bottom:1px solid var(--line)}
        th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
        tr:last-child td{border-bottom:0}.num{text-align:right}
        code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
        code.id,.fn{color:var(--muted)}.fn{font-size:.85rem}.ago{color:var(--muted)}.error{color:var(--bad)}
        .badge.cond{margin-top:4px}
        .badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:.8rem;font-weight:600;\
        white-space:nowrap;border:1px solid currentColor}
        .badge.in-sync{color:var(--ok)}.badge.out-of-sync{color:var(--warn)}.badge.failed{color:var(--bad)}\
        .badge.processing{color:var(--info)}.badge.unknown{color:var(--none)}
        @media (max-width:700px){
        table,tbody,tr,td{display:block;width:100%}thead{display:none}
        tr{border-bottom:1px solid var(--line);padding:6px 0}td{border:0;padding:4px 12px}
        td::before{content:attr(data-label);display:block;font-size:.72rem;text-transform:uppercase;\
        color:var(--muted)}
        .num{text-align:left}
        }
        """
}
