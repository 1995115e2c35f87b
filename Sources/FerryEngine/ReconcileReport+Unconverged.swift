import FerryCore

/// A placement a converge pass left out of sync, and why.
public struct UnconvergedPlacement: Sendable, Hashable {
    public enum Cause: String, Sendable, Hashable {
        /// Its last action failed (the provider refused it, or kept failing after retries).
        case failed
        /// Its endpoint could not be listed, so nothing about it is known.
        case notChecked = "not-checked"
        /// Still out of sync when the rounds ran out, with no failure recorded.
        case pending
        /// Its action was not attempted: the placement is waiting out its backoff after failing before.
        case backingOff = "backing-off"
    }

    public var file: String
    public var endpointID: String
    /// The endpoint's display name (base URL and credential *name*); the id when the endpoint is unknown.
    public var endpointName: String
    public var cause: Cause
    /// The action that failed or is pending, if any.
    public var action: PlannedAction.Kind?
    /// Why, in one line: the failure's message, the listing error, or what is pending.
    public var reason: String

    /// `create handbook on openai https://… (env:OPENAI_API_KEY): HTTP 400 …` (`file` first when no action).
    public var line: String {
        let subject = action.map { "\($0.rawValue) \(file)" } ?? file
        switch cause {
        case .failed: return "\(subject) on \(endpointName): \(reason)"
        case .notChecked: return "\(subject) on \(endpointName) not checked: \(reason)"
        case .pending: return "\(subject) on \(endpointName) still pending: \(reason)"
        case .backingOff: return "\(subject) on \(endpointName) skipped, \(reason)"
        }
    }
}

extension ReconcileReport {
    /// Every placement that did not converge, with why, sorted by file then endpoint: placements of the last plan
    /// that are not in sync, and failed actions the last plan still has for undeclared files (a prune that failed).
    /// Empty when the pass converged.
    public var unconverged: [UnconvergedPlacement] {
        guard outcome == .notConverged else { return [] }
        return UnconvergedPlacement.list(
            plan: lastPlan, failures: failures, rounds: rounds, deferred: deferred, backoff: backoff)
    }
}

extension UnconvergedPlacement {
    /// What `ReconcileReport.unconverged` reports for a pass that ended with `plan` after `rounds` rounds.
    /// - Parameters:
    ///   - deferred: actions skipped because their placement waits out its backoff (`backing-off`).
    ///   - backoff: the backoff book; a failure of a placement in it says when it is tried again.
    public static func list(
        plan: Plan, failures: [(action: PlannedAction, message: String)], rounds: Int,
        deferred: [DeferredAction] = [], backoff: [PlacementRetry] = []
    ) -> [UnconvergedPlacement] {
        let retries = Dictionary(backoff.map { ($0.placement, $0) }, uniquingKeysWith: { a, _ in a })
        let skipped = Dictionary(deferred.map { ($0.action.placement, $0) }, uniquingKeysWith: { a, _ in a })
        func failedReason(_ key: PlacementKey, _ message: String) -> String {
            guard let retry = retries[key] else { return message }
            return message + " (retrying at \(retry.nextAttemptText))"
        }
        let names = Dictionary(plan.endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        let listingErrors = Dictionary(
            plan.endpoints.compactMap { endpoint in endpoint.error.map { (endpoint.endpointID, $0) } },
            uniquingKeysWith: { a, _ in a })
        var failed: [PlacementKey: (action: PlannedAction, message: String)] = [:]
        for failure in failures { failed[failure.action.placement] = failure }
        var result: [UnconvergedPlacement] = []
        let declared = Set(plan.placements.map { PlacementKey(file: $0.file, endpointID: $0.endpointID) })
        let stillToDo = Set(plan.actions.map(\.placement))
        for status in plan.placements where status.state == .outOfSync || status.state == .unknown {
            let key = PlacementKey(file: status.file, endpointID: status.endpointID)
            let name = names[status.endpointID] ?? status.endpointID
            if let failure = failed[key] {
                result.append(
                    UnconvergedPlacement(
                        file: status.file, endpointID: status.endpointID, endpointName: name, cause: .failed,
                        action: failure.action.kind, reason: failedReason(key, failure.message)))
            } else if let skip = skipped[key] {
                result.append(
                    UnconvergedPlacement(
                        file: status.file, endpointID: status.endpointID, endpointName: name, cause: .backingOff,
                        action: skip.action.kind, reason: skip.retry.description))
            } else if status.state == .unknown {
                let error = listingErrors[status.endpointID] ?? status.detail ?? "not observed"
                result.append(
                    UnconvergedPlacement(
                        file: status.file, endpointID: status.endpointID, endpointName: name, cause: .notChecked,
                        action: nil, reason: "the endpoint could not be listed: \(error)"))
            } else {
                let pending = status.pendingAction.map { "\($0.rawValue) still to do" } ?? "out of sync"
                result.append(
                    UnconvergedPlacement(
                        file: status.file, endpointID: status.endpointID, endpointName: name, cause: .pending,
                        action: status.pendingAction,
                        reason: pending + " after \(rounds) round(s)" + (status.detail.map { " (\($0))" } ?? "")))
            }
        }
        for (key, failure) in failed where !declared.contains(key) && stillToDo.contains(key) {
            result.append(
                UnconvergedPlacement(
                    file: key.file, endpointID: key.endpointID, endpointName: names[key.endpointID] ?? key.endpointID,
                    cause: .failed, action: failure.action.kind, reason: failedReason(key, failure.message)))
        }
        for (key, skip) in skipped where !declared.contains(key) && failed[key] == nil && stillToDo.contains(key) {
            result.append(
                UnconvergedPlacement(
                    file: key.file, endpointID: key.endpointID, endpointName: names[key.endpointID] ?? key.endpointID,
                    cause: .backingOff, action: skip.action.kind, reason: skip.retry.description))
        }
        return result.sorted { ($0.file, $0.endpointID) < ($1.file, $1.endpointID) }
    }
}
