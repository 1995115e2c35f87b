import FerryCore
import FerryStore
import Foundation

/// What the conditions and revisions of an answer are computed from, read with the data they describe.
struct ConditionInputs: Sendable {
    var revisions: RevisionStatus
    var context: ConditionContext
    /// Endpoint id → display name.
    var endpointNames: [String: String]
    /// Endpoint id → why its last listing failed (redacted), for endpoints whose last listing failed.
    var listingErrors: [String: String]

    /// The store keeps at most this many runs; all are read, so `lastAppliedRevision` survives a long failing streak.
    static let runWindow = 1000

    /// Reads runs, the snapshot time, the writer lease and endpoints. Call inside `StatusView.read`.
    static func read(
        _ store: any StateStore, endpoints: [EndpointRecord]? = nil, now: Double, redact: Redactor
    ) throws -> ConditionInputs {
        let runs = try store.recentRuns(limit: runWindow)
        let revisions = RevisionStatus(runs: runs, snapshotAt: try store.snapshotUpdatedAt())
        // A pass is in progress while someone holds the writer lease (apply, reconcile and import take it; a
        // crashed holder's lease expires).
        let passInProgress = try store.leaseHolder().map { $0.expiresAt > now } ?? false
        let endpoints = try endpoints ?? store.endpointRecords()
        var names: [String: String] = [:]
        var errors: [String: String] = [:]
        for endpoint in endpoints {
            names[endpoint.id] = endpoint.displayName
            if let error = redact(endpoint.error) { errors[endpoint.id] = error }
        }
        return ConditionInputs(
            revisions: revisions, context: ConditionContext(passInProgress: passInProgress), endpointNames: names,
            listingErrors: errors)
    }

    func placement(_ record: PlacementRecord, redact: Redactor) -> ConditionPlacement {
        let status = record.status
        var listingError: String?
        if status.state == .unknown {
            listingError = listingErrors[status.endpointID] ?? redact(status.detail)
        }
        return ConditionPlacement(
            endpoint: endpointNames[status.endpointID] ?? status.endpointID, state: status.state,
            pendingAction: status.pendingAction?.rawValue,
            failure: record.error.map {
                ConditionPlacement.Failure(
                    action: $0.action, message: redact.redact($0.message), attempts: $0.attempts,
                    terminal: ConditionPlacement.Failure.isTerminal($0.message))
            },
            listingError: listingError)
    }

    /// The conditions of one file from all of its placements.
    func conditions(_ records: [PlacementRecord], redact: Redactor) -> [StatusCondition] {
        Conditions.evaluate(records.map { placement($0, redact: redact) }, context: context)
    }
}

extension StatusCondition {
    var json: JSONValue {
        .object([
            ("type", .string(type.rawValue)),
            ("status", .string(status.rawValue)),
            ("reason", .string(reason)),
            ("message", .string(message)),
            ("lastTransitionTime", .double(lastTransitionTime)),
        ])
    }
}

extension [StatusCondition] {
    var json: JSONValue { .array(map(\.json)) }

    /// The condition of that type (every list has all three).
    subscript(_ kind: StatusCondition.Kind) -> StatusCondition? { first { $0.type == kind } }
}

extension RevisionStatus {
    /// `observedRevision`, `lastAppliedRevision`, `lastAttemptedRevision`, as object members.
    var members: [(String, JSONValue)] {
        [
            ("observedRevision", .string(observed)),
            ("lastAppliedRevision", .string(lastApplied)),
            ("lastAttemptedRevision", .string(lastAttempted)),
        ]
    }
}
