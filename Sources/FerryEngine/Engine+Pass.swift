import FerryCore
import FerryStore
import Foundation
import Logging

/// How a pass ended, as recorded in its run row and shown by the status view.
public enum PassOutcome: String, Sendable {
    /// A plan was computed and nothing was changed.
    case planned
    /// The providers match the manifests.
    case converged
    /// Everything planned was applied, but a later observation still found work.
    case applied
    /// A reconcile pass ran out of rounds or made no progress.
    case notConverged = "not-converged"
    /// A guard refused the plan, a saved plan was stale, or an apply was not confirmed.
    case refused
    /// Something failed: an action, a listing, or the pass itself.
    case failed
    /// The pass was cancelled before it finished.
    case cancelled
}

/// What a whole pass records in its run row when it ends.
struct RunEnding {
    var outcome: PassOutcome
    var summary: String
    var applied = 0
    var failed = 0
}

/// The answer of whoever confirms an apply (the CLI asks on a terminal).
public enum Confirmation: Sendable {
    case approved
    /// Not approved; `reason` is recorded in the run (`not confirmed`, `cancelled`).
    case declined(reason: String)
}

/// A plan saved by `ferry plan -out FILE`, to apply exactly.
public struct SavedPlanInput: Sendable {
    public var saved: SavedPlan
    /// The file it was read from, for messages.
    public var path: String

    public init(saved: SavedPlan, path: String) {
        self.saved = saved
        self.path = path
    }
}

/// The result of a plan pass.
public struct PlanPassResult: Sendable {
    public var inputs: LoadedInputs
    public var plan: Plan
    public var outcome: PassOutcome
}

/// The result of an apply pass.
public struct ApplyPassResult: Sendable {
    /// The plan that was applied (or refused).
    public var plan: Plan
    public var outcome: PassOutcome
    /// What the apply did; nil when nothing was attempted (no changes, refused, declined).
    public var report: ApplyReport?
    /// What a fresh observation still finds to do after the apply; nil when nothing was applied.
    public var remaining: Plan?
    /// `Apply complete: 2 created, 0 replaced, 0 deleted.` (nil when nothing was applied).
    public var summary: String?
    /// Set when the confirmation declined: the reason it gave.
    public var declined: String?
}

/// The result of a reconcile pass.
public struct ReconcilePassResult: Sendable {
    public var report: ReconcileReport
    /// Wall seconds the pass took (lease held).
    public var seconds: Double
    /// The one-line summary recorded in the run and printed by the CLI.
    public var summary: String
}

extension Engine {
    // MARK: Whole passes: load, (lease), run record, observe → plan (→ apply → verify), finish.

    /// A plan pass: loads and validates manifests, lists every endpoint, plans and stores the status snapshot.
    /// Takes no lease (a plan never writes to providers). The run row is finished also on error.
    /// - Parameter validated: manifests already validated for this configuration, to avoid reading them twice.
    /// - Throws: `ValidationFailed` for bad input (nothing recorded), store failures.
    public func planPass(validated: LoadedManifests? = nil) async throws -> PlanPassResult {
        let manifests = try loadManifests(validated: validated)
        return try await withRun("plan", lease: nil) { _ in
            var inputs = manifests
            let observed = try await self.observe(loadingDigests: &inputs, deferHashing: false)
            let plan = try await self.plan(inputs, observed)
            Parallel.release(consume observed)
            let outcome: PassOutcome =
                !plan.blocked.isEmpty ? .refused : (plan.hasUnknownEndpoints ? .failed : .planned)
            return (
                PlanPassResult(inputs: inputs, plan: plan, outcome: outcome),
                RunEnding(outcome: outcome, summary: plan.summaryLine))
        }
    }

    /// An apply pass under the writer lease: observe, plan, check a saved plan still holds, present the plan,
    /// confirm, apply, and observe again to verify.
    /// - Parameters:
    ///   - saved: a saved plan to apply exactly; refused when the manifests, sources or providers changed since.
    ///   - lockTimeout: seconds to wait for another holder of the lease.
    ///   - present: called once with the current plan before anything changes (the CLI prints it).
    ///   - confirm: called when the plan has changes and no saved plan approves them.
    /// - Throws: `EngineError` (`.lockHeld`, `.stalePlan`, `.endpointsNotListed`), `ValidationFailed`, store failures.
    public func applyPass(
        validated: LoadedManifests? = nil, saved: SavedPlanInput? = nil, lockTimeout: Double = 0,
        present: @Sendable (Plan) throws -> Void = { _ in },
        confirm: @Sendable (Plan) async -> Confirmation = { _ in .approved }
    ) async throws -> ApplyPassResult {
        enum Stop: Error {
            case stale(String)
            case unlisted
        }
        if let saved, saved.saved.plan.mode == .import {
            // A saved `ferry import -out FILE` plan: applied by the import pass, which checks it still holds.
            let imported = try await importPass(
                validated: validated, saved: saved, lockTimeout: lockTimeout, present: present, confirm: confirm)
            let adopted = imported.report?.applied.count ?? 0
            return ApplyPassResult(
                plan: imported.plan, outcome: imported.outcome, report: imported.report, remaining: nil,
                summary: imported.report.map { _ in "Import complete: \(adopted) file(s) adopted." },
                declined: imported.declined)
        }
        // A saved plan pins every digest; otherwise sources are hashed by their uploads where the plan allows it.
        let inputs = try await load(validated: validated, deferHashing: saved == nil && configuration.hashDuringUpload)
        // A saved plan is planned again within its own scope, whatever the configuration says.
        let savedScope = saved.map { $0.saved.plan.scope ?? .everything }
        let result: Result<ApplyPassResult, Stop> = try await withRun("apply", lease: lockTimeout) { run in
            let plan = try await self.plan(inputs, try await self.observe(inputs), scope: savedScope)
            if let saved {
                if saved.saved.plan.desiredFingerprint != plan.desiredFingerprint {
                    return (
                        .failure(.stale("the manifests or sources changed since \(saved.path) was made")),
                        RunEnding(outcome: .refused, summary: "saved plan is stale (manifests changed)"))
                }
                if saved.saved.plan.actions != plan.actions
                    || (saved.saved.plan.vectorStoreActions ?? []) != (plan.vectorStoreActions ?? [])
                {
                    return (
                        .failure(.stale("what the providers hold changed since \(saved.path) was made")),
                        RunEnding(outcome: .refused, summary: "saved plan is stale (provider state changed)"))
                }
            }
            try present(plan)
            var result = ApplyPassResult(plan: plan, outcome: .refused)
            if plan.hasUnknownEndpoints {
                return (.failure(.unlisted), RunEnding(outcome: .failed, summary: "some endpoints could not be listed"))
            }
            if !plan.blocked.isEmpty {
                return (.success(result), RunEnding(outcome: .refused, summary: plan.blocked.joined(separator: "; ")))
            }
            if plan.isEmpty {
                result.outcome = .converged
                return (.success(result), RunEnding(outcome: .converged, summary: plan.summaryLine))
            }
            if saved == nil, case .declined(let reason) = await confirm(plan) {
                result.declined = reason
                return (.success(result), RunEnding(outcome: .refused, summary: reason))
            }
            let report = await self.apply(plan, inputs: inputs, run: run)
            // Verify: observe again and say whether anything is left.
            let remaining = try await self.plan(inputs, try await self.observe(inputs), scope: savedScope)
            let summary = report.summaryLine
            result.report = report
            result.remaining = remaining
            result.summary = summary
            result.outcome = report.succeeded ? (remaining.isEmpty ? .converged : .applied) : .failed
            return (
                .success(result),
                RunEnding(
                    outcome: result.outcome, summary: summary, applied: report.appliedCount,
                    failed: report.failed.count + report.vectorStores.failed.count))
        }
        switch result {
        case .success(let result): return result
        case .failure(.stale(let message)):
            throw EngineError(.stalePlan, message + "; run 'ferry plan -out' again")
        case .failure(.unlisted):
            throw EngineError(.endpointsNotListed, "some endpoints could not be listed; nothing was applied")
        }
    }

    /// A reconcile pass under the writer lease: observe → plan → apply until converged, refused, or out of rounds.
    /// - Throws: `EngineError.Code.lockHeld`, `ValidationFailed`, store failures.
    public func reconcilePass(validated: LoadedManifests? = nil, maxRounds: Int = 5, lockTimeout: Double = 0)
        async throws -> ReconcilePassResult
    {
        // Digests are loaded while the first round lists the providers (`observe(loadingDigests:)`).
        let inputs = try loadManifests(validated: validated)
        return try await withRun("reconcile", lease: lockTimeout) { run in
            let started = self.clock.now()
            let report = try await self.reconcile(
                inputs, maxRounds: maxRounds, run: run, digestsToLoad: self.configuration.hashDuringUpload)
            let seconds = self.clock.now() - started
            let summary = report.summaryLine(seconds: seconds)
            return (
                ReconcilePassResult(report: report, seconds: seconds, summary: summary),
                RunEnding(
                    outcome: PassOutcome(report.outcome), summary: summary, applied: report.applied,
                    failed: report.failures.count))
        }
    }

    /// Runs `body` inside a run record (and, when `lease` is a wait in seconds, the writer lease): the run is
    /// finished whatever happens, with the outcome `body` returns, or `failed`/`cancelled` when it throws.
    func withRun<Value>(
        _ command: String, lease: Double?, _ body: (Int64) async throws -> (Value, RunEnding)
    ) async throws -> Value {
        var writer: WriterLease?
        if let lease { writer = try await WriterLease.acquire(store: store, wait: lease, clock: clock) }
        defer { writer?.release() }
        let run = try store.startRun(command: command, revision: configuration.revision, at: clock.now())
        logger.info("\(command) started", metadata: ["ferry.run": .stringConvertible(run)])
        let result: Value
        let record: RunEnding
        do {
            (result, record) = try await body(run)
        } catch {
            let outcome: PassOutcome = error is CancellationError || Task.isCancelled ? .cancelled : .failed
            let summary = outcome == .cancelled ? "cancelled" : String("\(error)".prefix(500))
            try? store.finishRun(
                run, outcome: outcome.rawValue, summary: summary, applied: 0, failed: 0, requests: requestCount(),
                at: clock.now())
            logger.info(
                "\(command) ended: \(outcome.rawValue)",
                metadata: ["ferry.run": .stringConvertible(run), "ferry.error": .string(summary)])
            throw error
        }
        try store.finishRun(
            run, outcome: record.outcome.rawValue, summary: record.summary, applied: record.applied,
            failed: record.failed, requests: requestCount(), at: clock.now())
        logger.info(
            "\(command) ended: \(record.outcome.rawValue)",
            metadata: ["ferry.run": .stringConvertible(run), "ferry.summary": .string(record.summary)])
        return result
    }
}

extension PassOutcome {
    init(_ outcome: ReconcileReport.Outcome) {
        switch outcome {
        case .converged: self = .converged
        case .notConverged: self = .notConverged
        case .refused: self = .refused
        }
    }
}

extension ApplyReport {
    /// `Apply complete: 2 created, 0 replaced, 0 deleted, 1 adopted, 1 failed.`
    public var summaryLine: String {
        let counts = Dictionary(grouping: applied, by: \.kind).mapValues(\.count)
        var summary =
            "Apply complete: \(counts[.create, default: 0]) created, \(counts[.replace, default: 0]) replaced, "
            + "\(counts[.delete, default: 0]) deleted"
        if let adopted = counts[.adopt] { summary += ", \(adopted) adopted" }
        let stores = vectorStores.applied
        if !stores.isEmpty || !vectorStores.failed.isEmpty {
            let attached = stores.filter { $0.kind == .attach }.count
            let detached = stores.filter { $0.kind == .detach }.count
            summary += "; vector stores: \(stores.count - attached - detached) changed, \(attached) attached, "
                + "\(detached) detached"
            if !vectorStores.stillProcessing.isEmpty { summary += " (\(vectorStores.stillProcessing.count) still processing)" }
        }
        let failures = failed.count + vectorStores.failed.count
        if failures > 0 { summary += ", \(failures) failed" }
        return summary + "."
    }
}

extension ReconcileReport {
    /// The one line a reconcile pass ends with: converged, not converged (how many placements and why), or refused.
    public func summaryLine(seconds: Double) -> String {
        let shown = seconds.formatted(.number.precision(.fractionLength(2)))
        switch outcome {
        case .converged:
            return "Converged in \(rounds) round(s), \(shown)s: \(applied) action(s) applied, "
                + "\(requests) request(s) (\(listPages) list page(s)). \(lastPlan.summaryLine)"
        case .notConverged:
            let unconverged = self.unconverged
            let failing = unconverged.filter { $0.cause == .failed }.count
            let unchecked = unconverged.filter { $0.cause == .notChecked }.count
            let waiting = unconverged.filter { $0.cause == .backingOff }.count
            return "Not converged after \(rounds) round(s), \(shown)s: \(unconverged.count) placement(s) not converged "
                + "(\(failing) failing, " + (waiting > 0 ? "\(waiting) waiting out their backoff, " : "")
                + "\(unchecked) on endpoints that could not be listed). " + lastPlan.summaryLine
        case .refused:
            return "Refused: " + lastPlan.blocked.joined(separator: "; ")
        }
    }
}
