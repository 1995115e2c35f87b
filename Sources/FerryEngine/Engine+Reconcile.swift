import FerryCore
import FerryProviders
import FerryStore

/// The outcome of a converge pass.
public struct ReconcileReport: Sendable {
    public enum Outcome: String, Sendable {
        case converged
        case notConverged = "not-converged"
        case refused
    }

    public var outcome: Outcome
    /// Rounds of observe → plan (→ apply).
    public var rounds: Int
    /// The last plan computed: empty when converged, else what is still to do.
    public var lastPlan: Plan
    public var applied: Int
    public var failures: [(action: PlannedAction, message: String)]
    /// Provider requests sent during the pass.
    public var requests: Int
    /// List requests (pages) sent during the pass.
    public var listPages: Int
    /// Provider actions the last round skipped because their placement is waiting out its backoff.
    public var deferred: [DeferredAction] = []
    /// The backoff book when the pass ended (empty without one): when each failing placement is tried again.
    public var backoff: [PlacementRetry] = []
}

extension Engine {
    /// observe → plan → apply, repeated until nothing is left to do or `maxRounds` applies have run.
    /// A refused plan (deletion guard) applies nothing.
    public func reconcile(_ inputs: LoadedInputs, maxRounds: Int = 5, run: Int64? = nil) async throws
        -> ReconcileReport
    {
        try await reconcile(inputs, maxRounds: maxRounds, run: run, digestsToLoad: nil)
    }

    /// `reconcile`, with the backoff book as the pass ended in the report.
    /// - Parameter digestsToLoad: set when `inputs` has no digests yet: the first round loads them (`loadDigests`,
    ///   with this as `deferHashing`) while it lists the providers.
    func reconcile(_ inputs: LoadedInputs, maxRounds: Int, run: Int64?, digestsToLoad: Bool?) async throws
        -> ReconcileReport
    {
        var report = try await reconcileRounds(inputs, maxRounds: maxRounds, run: run, digestsToLoad: digestsToLoad)
        report.backoff = configuration.backoff?.snapshot() ?? []
        return report
    }

    private func reconcileRounds(
        _ inputs: LoadedInputs, maxRounds: Int, run: Int64?, digestsToLoad deferHashing: Bool?
    ) async throws -> ReconcileReport {
        var inputs = inputs
        var pendingDeferHashing = deferHashing
        var deferred: [DeferredAction] = []
        var applied = 0
        var failures: [(action: PlannedAction, message: String)] = []
        var pages = 0
        var round = 0
        while true {
            round += 1
            report(.round(round))
            let observed: ObservationRound
            if let deferHashing = pendingDeferHashing {
                observed = try await observe(loadingDigests: &inputs, deferHashing: deferHashing)
                pendingDeferHashing = nil
            } else {
                observed = try await observe(inputs)
            }
            pages += observed.pages
            let plan = try await self.plan(inputs, observed)
            // The listings (one record per listed file) are freed on another thread while the pass goes on.
            Parallel.release(consume observed)
            if !plan.blocked.isEmpty {
                return ReconcileReport(
                    outcome: .refused, rounds: round, lastPlan: plan, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages, deferred: deferred)
            }
            if plan.isEmpty {
                return ReconcileReport(
                    outcome: plan.hasUnknownEndpoints ? .notConverged : .converged, rounds: round, lastPlan: plan,
                    applied: applied, failures: failures, requests: requestCount(), listPages: pages, deferred: deferred)
            }
            if round > maxRounds {
                return ReconcileReport(
                    outcome: .notConverged, rounds: round, lastPlan: plan, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages, deferred: deferred)
            }
            let applyStart = ContinuousClock.now
            let result = await apply(plan, inputs: inputs, run: run)
            counters.add("apply", since: applyStart)
            applied += result.appliedCount
            // Keep only the latest failure per placement: earlier ones may have been fixed by a later round.
            for failure in result.failed {
                failures.removeAll { $0.action.placement == failure.action.placement }
                failures.append(failure)
            }
            for done in result.applied { failures.removeAll { $0.action.placement == done.placement } }
            deferred = result.deferred
            if result.appliedCount == 0 && result.succeeded && !deferred.isEmpty {
                // Nothing was attempted: every action left waits out its placement's backoff. Nothing changed since
                // this round's listing, so it stands as the last plan.
                return ReconcileReport(
                    outcome: .notConverged, rounds: round, lastPlan: plan, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages, deferred: deferred)
            }
            if result.appliedCount == 0 {
                // No progress: every remaining action failed. Report what is left instead of spinning.
                let observedAgain = try await observe(inputs)
                pages += observedAgain.pages
                let remaining = try await self.plan(inputs, observedAgain)
                return ReconcileReport(
                    outcome: remaining.isEmpty && !remaining.hasUnknownEndpoints ? .converged : .notConverged,
                    rounds: round + 1, lastPlan: remaining, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages, deferred: deferred)
            }
        }
    }
}
