import FerryCore
import FerryStore
import Foundation
import Hummingbird

/// The JSON API under `/api/v1/`: summary, files, placements, endpoints, runs and the latest plan. Free text from
/// the store goes through the redactor.
extension StatusView {
    func summary() async throws -> Payload {
        let (redact, clock) = (self.redact, configuration.now)
        let (counts, files, endpoints, totals, snapshotAt, attention, inputs) = try await read { store in
            let counts = try store.placementStateCounts()
            let endpoints = try store.endpointRecords()
            // Only the placements that are not in sync matter to the workspace's conditions: they come first.
            let notInSync = counts.filter { $0.key != "in-sync" }.values.reduce(0, +)
            return (
                counts, try store.desiredFileCount(), endpoints, try store.runTotals(), try store.snapshotUpdatedAt(),
                notInSync == 0 ? [] : try store.placementRecords(attentionFirst: true, limit: notInSync),
                try ConditionInputs.read(
                    store, endpoints: endpoints, now: clock().timeIntervalSince1970, redact: redact)
            )
        }
        let lastObservation = endpoints.compactMap(\.lastSuccessAt).max()
        let others = attention.filter { $0.status.state != .inSync }.map { inputs.placement($0, redact: redact) }
        let conditions = Conditions.evaluate(
            inSync: counts["in-sync"] ?? 0, others: others, context: inputs.context)
        return .json(
            .object(
                [
                    ("ready", .bool(lastObservation != nil)),
                    ("lastSuccessfulObservation", .int(lastObservation)),
                    ("snapshotAt", .double(snapshotAt)),
                    ("files", .int(files)),
                    ("endpoints", .int(endpoints.count)),
                    ("placements", .object(Self.states.map { ($0, .int(counts[$0] ?? 0)) })),
                    ("lastConvergedAt", .double(totals.lastConvergedAt)),
                ] + inputs.revisions.members + [
                    ("lastAppliedAt", .double(inputs.revisions.lastAppliedAt)),
                    ("conditions", conditions.json),
                ]))
    }

    /// Display states in the order they are reported.
    static let states = ["in-sync", "out-of-sync", "failed", "processing", "unknown"]

    func filesAPI() async throws -> Payload {
        let (redact, clock) = (self.redact, configuration.now)
        let (files, placements, owned, snapshotAt, inputs) = try await read { store in
            (
                try store.desiredFileStatuses(), try store.placementRecords(attentionFirst: false),
                try store.ownedFiles(),
                try store.snapshotUpdatedAt(),
                try ConditionInputs.read(store, now: clock().timeIntervalSince1970, redact: redact)
            )
        }
        let placementsByFile = Dictionary(grouping: placements, by: \.status.file)
        let ownedByFile = Dictionary(grouping: owned, by: \.file)
        let items: [JSONValue] = files.map { status in
            let file = status.file
            let (fileStatus, details) = UnifiedFile.status(status.rollUp)
            let providerFiles = UnifiedFile.providerFiles(
                targetModels: file.targetModels, placements: placementsByFile[file.name] ?? [],
                owned: ownedByFile[file.name] ?? [])
            return .object([
                ("name", .string(file.name)),
                ("unifiedID", .string(file.unifiedID)),
                ("sourcePath", .string(file.sourcePath)),
                ("filename", .string(file.filename)),
                ("purpose", .string(file.purpose)),
                ("bytes", .int(file.bytes)),
                ("digest", .string(file.digest)),
                ("targetModels", .strings(file.targetModels)),
                ("labels", .object(file.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("deletionPolicy", .string(file.deletionPolicy)),
                ("declaredBy", .string(file.declaredBy)),
                ("status", .string(fileStatus)),
                ("statusDetails", .string(details)),
                ("providerFiles", .object(providerFiles.map { ($0.model, .string($0.remoteID)) })),
                ("observedRevision", .string(inputs.revisions.observed)),
                ("conditions", inputs.conditions(placementsByFile[file.name] ?? [], redact: redact).json),
            ])
        }
        return .json(
            .object(
                [("snapshotAt", .double(snapshotAt))] + inputs.revisions.members + [("files", .array(items))]))
    }

    /// Every placement, or with `limit` one page of them in (file, endpoint) order read from the table's key, with
    /// `has_more` and the `next` cursor to pass as `after`.
    func placementsAPI(_ query: Parameters) async throws -> Payload {
        var limit: Int?
        if let text = query.get("limit") {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw APIError.badRequest("limit must be an integer from 1 to 10000 (got '\(text)').", param: "limit")
            }
            limit = value
        }
        var after: PlacementKey?
        if let token = query.get("after"), !token.isEmpty {
            guard let key = PlacementCursor.decode(token) else {
                throw APIError.badRequest("after must be a 'next' value of an earlier page (got '\(token)').", param: "after")
            }
            after = key
        }
        let fetch = limit.map { $0 + 1 }
        let cursor = after
        var placements = try await read {
            try $0.placementRecords(file: nil, attentionFirst: false, limit: fetch, after: cursor)
        }
        let retries = retrySchedule()
        var hasMore: Bool?
        if let limit {
            hasMore = placements.count > limit
            placements.removeLast(max(0, placements.count - limit))
        }
        // Written member by member: a page of 100 placements is 1,300 values, and a tree of them cost a tenth of it.
        var out = ByteWriter(capacity: 400 * placements.count + 256)
        out.append(#"{"placements":["# as StaticString)
        for index in placements.indices {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writePlacement(placements[index], retries: retries, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let hasMore {
            out.append(#","has_more":"# as StaticString)
            out.append(hasMore ? "true" : "false" as StaticString)
            out.member(#","next":"#, hasMore ? placements.last.map { PlacementCursor.encode($0.status.placementKey) } : nil)
        }
        out.append(UInt8(ascii: "}"))
        return out.jsonPayload()
    }

    /// The reconcile loop's backoff book, by placement.
    func retrySchedule() -> [PlacementKey: PlacementRetryStatus] {
        Dictionary(
            configuration.retries().map { (PlacementKey(file: $0.file, endpointID: $0.endpointID), $0) },
            uniquingKeysWith: { a, _ in a })
    }

    /// One placement as the JSON API shows it.
    func writePlacement(
        _ record: PlacementRecord, retries: [PlacementKey: PlacementRetryStatus], into out: inout ByteWriter
    ) {
        let status = record.status
        out.member(#"{"file":"#, status.file)
        out.member(#","unifiedID":"#, status.unifiedID)
        out.member(#","endpointID":"#, status.endpointID)
        out.member(#","models":"#, status.models)
        out.member(#","state":"#, status.state.rawValue)
        out.member(#","displayState":"#, record.displayState)
        out.member(#","remoteID":"#, status.remoteID)
        out.member(#","expiresAt":"#, record.expiresAt)
        out.member(#","pendingAction":"#, status.pendingAction?.rawValue)
        out.member(#","detail":"#, redact(status.detail))
        var lastError = JSONValue.null
        if let error = record.error {
            lastError = .object([
                ("action", .string(error.action)), ("message", .string(redact.redact(error.message))),
                ("at", .int(error.at)), ("attempts", .int(error.attempts)),
            ])
        }
        out.member(#","lastError":"#, lastError)
        let retry = retries.isEmpty ? nil : retries[PlacementKey(file: status.file, endpointID: status.endpointID)]
        out.member(#","retry":"#, retryJSON(retry))
        out.append(UInt8(ascii: "}"))
    }

    /// When the reconcile loop tries a failing placement again; null when it is not backing off.
    func retryJSON(_ retry: PlacementRetryStatus?) -> JSONValue {
        guard let retry else { return .null }
        return .object([
            ("action", .string(retry.action)), ("failures", .int(retry.failures)),
            ("nextAttemptAt", .double(retry.nextAttemptAt)), ("providerAsked", .bool(retry.providerAsked)),
        ])
    }

    func endpointsAPI() async throws -> Payload {
        let endpoints = try await read { try $0.endpointRecords() }
        return .json(
            .object([
                (
                    "endpoints",
                    .array(
                        endpoints.map { endpoint in
                            .object([
                                ("endpointID", .string(endpoint.id)),
                                ("kind", .string(endpoint.kind)),
                                ("displayName", .string(endpoint.displayName)),
                                ("baseURL", .string(endpoint.baseURL)),
                                ("listed", .int(endpoint.listed)),
                                ("owned", .int(endpoint.owned)),
                                ("unmanaged", .int(endpoint.unmanaged)),
                                ("pages", .int(endpoint.pages)),
                                ("observedAt", .int(endpoint.observedAt)),
                                ("lastSuccessAt", .int(endpoint.lastSuccessAt)),
                                ("error", .string(redact(endpoint.error))),
                            ])
                        })
                )
            ]))
    }

    func runsAPI(_ query: Parameters) async throws -> Payload {
        var limit = 20
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.badRequest("limit must be an integer from 1 to 1000 (got '\(text)').", param: "limit")
            }
            limit = value
        }
        let count = limit
        let runs = try await read { try $0.recentRuns(limit: count) }
        return .json(.object([("runs", .array(runs.map(runJSON)))]))
    }

    func runJSON(_ run: RunRecord) -> JSONValue {
        .object([
            ("id", .int(run.id)),
            ("command", .string(run.command)),
            ("startedAt", .double(run.startedAt)),
            ("finishedAt", .double(run.finishedAt)),
            ("durationSeconds", .double(run.finishedAt.map { $0 - run.startedAt })),
            ("outcome", .string(run.outcome)),
            ("summary", .string(redact(run.summary))),
            ("applied", .int(run.applied)),
            ("failed", .int(run.failed)),
            ("requests", .int(run.requests)),
            ("revision", .string(run.revision)),
        ])
    }

    func planAPI() async throws -> Payload {
        let redact = self.redact
        let stored = try await read { store -> String? in
            if var (plan, _) = try store.latestPlan() {
                plan.warnings = plan.warnings.map(redact.redact)
                plan.blocked = plan.blocked.map(redact.redact)
                for index in plan.endpoints.indices {
                    plan.endpoints[index].error = redact(plan.endpoints[index].error)
                }
                for index in plan.placements.indices {
                    plan.placements[index].detail = redact(plan.placements[index].detail)
                }
                return try plan.renderJSON()
            }
            // A plan this version cannot decode is still served, with its free text redacted.
            return try store.latestPlanJSON().map { redact.redact($0.json) }
        }
        guard let stored else {
            throw APIError.notFound(
                "No plan has been stored yet: run 'ferry plan', 'ferry apply' or 'ferry reconcile' first.")
        }
        return .text(stored.hasSuffix("\n") ? stored : stored + "\n", contentType: "application/json")
    }
}

/// The `after`/`next` cursor of `/api/v1/placements` pages: the last placement's file and endpoint, base64url-encoded.
enum PlacementCursor {
    static func encode(_ key: PlacementKey) -> String {
        Data((key.file + "\u{0}" + key.endpointID).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> PlacementKey? {
        var text = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .utf8) else { return nil }
        let parts = decoded.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return PlacementKey(file: String(parts[0]), endpointID: String(parts[1]))
    }
}
