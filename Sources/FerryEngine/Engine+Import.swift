import FerryCore
import FerryProviders
import Foundation
import Logging

/// The result of an import pass.
public struct ImportPassResult: Sendable {
    /// The import plan: `import` actions only.
    public var plan: Plan
    public var outcome: PassOutcome
    /// What was recorded; nil when nothing was attempted (nothing to import, declined).
    public var report: ApplyReport?
    /// Set when the confirmation declined: the reason it gave.
    public var declined: String?
}

extension Engine {
    /// `ferry import`: adopts into the state the files on the providers that match declared placements but that the
    /// state has no record of (a new or lost state), so the next plan says "No changes" instead of uploading them
    /// again. Under the writer lease: observe, find the candidates, prove each one's content where the provider
    /// lets Ferry read it (download and SHA-256), plan, present, confirm, record. Nothing is uploaded or deleted.
    /// - Parameters:
    ///   - saved: a saved import plan (`ferry import -out FILE`) to apply exactly; refused when anything changed.
    ///   - present: called once with the import plan before anything is recorded.
    ///   - confirm: called when there is something to import and no saved plan approves it.
    /// - Throws: `EngineError` (`.lockHeld`, `.stalePlan`, `.endpointsNotListed`), `ValidationFailed`, store failures.
    public func importPass(
        validated: LoadedManifests? = nil, saved: SavedPlanInput? = nil, lockTimeout: Double = 0,
        present: @Sendable (Plan) throws -> Void = { _ in },
        confirm: @Sendable (Plan) async -> Confirmation = { _ in .approved }
    ) async throws -> ImportPassResult {
        let inputs = try await load(validated: validated)
        let (result, failure): (ImportPassResult, EngineError?) = try await withRun("import", lease: lockTimeout) {
            run in
            let round = try await self.observe(inputs)
            var input = try self.planInput(inputs, round)
            try await self.completeDigests(&input, unhashed: inputs.unhashed)
            let candidates = Planner.plan(input, policy: self.configuration.policy).untracked ?? []
            let verified = await self.contentDigests(of: candidates, inputs: inputs)
            let plan = Planner.importPlan(input, policy: self.configuration.policy, verifiedDigests: verified)
            var result = ImportPassResult(plan: plan, outcome: .refused)
            if let saved, saved.saved.plan.desiredFingerprint != plan.desiredFingerprint || saved.saved.plan.actions != plan.actions {
                let error = EngineError(
                    .stalePlan,
                    "the manifests, sources or providers changed since \(saved.path) was made; "
                        + "run 'ferry import -out' again")
                return ((result, error), RunEnding(outcome: .refused, summary: "saved import plan is stale"))
            }
            try present(plan)
            if plan.hasUnknownEndpoints {
                let error = EngineError(.endpointsNotListed, "some endpoints could not be listed; nothing was imported")
                return ((result, error), RunEnding(outcome: .failed, summary: "some endpoints could not be listed"))
            }
            if plan.isEmpty {
                result.outcome = .converged
                return ((result, nil), RunEnding(outcome: .converged, summary: plan.summaryLine))
            }
            if saved == nil, case .declined(let reason) = await confirm(plan) {
                result.declined = reason
                return ((result, nil), RunEnding(outcome: .refused, summary: reason))
            }
            let report = await self.apply(plan, inputs: inputs, run: run)
            result.report = report
            result.outcome = report.failed.isEmpty ? .applied : .failed
            let summary = "Import complete: \(report.applied.count) file(s) adopted"
                + (report.failed.isEmpty ? "." : ", \(report.failed.count) failed.")
            return (
                (result, nil),
                RunEnding(
                    outcome: result.outcome, summary: summary, applied: report.applied.count,
                    failed: report.failed.count))
        }
        if let failure { throw failure }
        return result
    }

    /// SHA-256 (hex) of each candidate's remote content, where the provider lets Ferry download it. A download the
    /// provider refuses (OpenAI does not serve every purpose) leaves that candidate unverified; it is never an error.
    func contentDigests(of candidates: [UntrackedFile], inputs: LoadedInputs) async -> [String: String] {
        let endpoints = Dictionary(
            inputs.desired.knownEndpoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("ferry-import-\(UUID().uuidString)", isDirectory: true)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var digests: [String: String] = [:]
        for (index, candidate) in candidates.enumerated() {
            if let known = candidate.remote.sha256 {
                digests[candidate.remote.id] = known
                continue
            }
            guard let endpoint = endpoints[candidate.endpointID],
                let client = try? provider(for: endpoint, inputs: inputs)
            else { continue }
            let path = folder.appendingPathComponent("\(index)").path
            do {
                _ = try await client.content(id: candidate.remote.id, to: path)
                digests[candidate.remote.id] = try SourceDigester.sha256(file: path)
            } catch {
                logger.info(
                    "content not readable; matching by name, size and purpose",
                    metadata: [
                        "ferry.endpoint": .string(candidate.endpointID), "ferry.remote_id": .string(candidate.remote.id),
                        "ferry.error": .string("\(error)"),
                    ])
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        return digests
    }
}
