import FerryCore
import Foundation

/// A plan against the listings earlier runs stored.
public struct StoredPlanResult: Sendable {
    public var plan: Plan
    public var outcome: PassOutcome
    /// When each endpoint's stored listing was taken (unix seconds); endpoints never listed are absent.
    public var listedAt: [String: Int64]
}

/// The result of a drift check.
public struct DriftPassResult: Sendable {
    public var drift: DriftReport
    /// Display names of the endpoints checked, by id.
    public var endpointNames: [String: String]
}

extension Engine {
    /// Endpoints a pass must list: those with desired placements, owned files or open intents.
    func relevantEndpoints(_ inputs: LoadedInputs) throws -> [Endpoint] {
        let relevant = Set(inputs.desired.endpoints.map(\.id)).union(try store.ownedEndpointIDs()).union(
            try store.intents().map(\.endpointID))
        return inputs.desired.knownEndpoints.filter { relevant.contains($0.id) }
    }

    /// `plan --refresh=false`: plans against the listings stored by the last runs, without a provider request and
    /// without writing anything (no run row, no snapshot, no digest cache when the state is read-only). An endpoint
    /// never listed is reported like one whose listing failed.
    public func planFromStoredListings(validated: LoadedManifests? = nil) async throws -> StoredPlanResult {
        let inputs = try await load(validated: validated)
        let stored = try store.observations()
        var observations: [String: EndpointObservation] = [:]
        var listedAt: [String: Int64] = [:]
        for endpoint in try relevantEndpoints(inputs) {
            if let observation = stored[endpoint.id], observation.files != nil {
                observations[endpoint.id] = observation
                listedAt[endpoint.id] = observation.observedAt
            } else {
                observations[endpoint.id] = EndpointObservation(
                    endpointID: endpoint.id, files: nil,
                    error: "no stored listing (never listed by this state); run 'ferry plan' with refresh first",
                    observedAt: nowSeconds)
            }
        }
        var round = ObservationRound(observations: observations, pages: 0)
        let storedStores = try store.vectorStoreObservations()
        for endpoint in try vectorStoreEndpoints(inputs) {
            round.vectorStores[endpoint.id] =
                storedStores[endpoint.id]
                ?? VectorStoreObservation(
                    endpointID: endpoint.id, stores: nil,
                    error: "no stored vector store listing; run 'ferry plan' with refresh first", observedAt: nowSeconds)
        }
        let plan = try await self.plan(inputs, round, saveSnapshot: false)
        let outcome: PassOutcome = !plan.blocked.isEmpty ? .refused : (plan.hasUnknownEndpoints ? .failed : .planned)
        return StoredPlanResult(plan: plan, outcome: outcome, listedAt: listedAt)
    }

    /// `plan --refresh-only` / `ferry drift`: lists every endpoint and reports what changed there since the last
    /// run, without planning or changing anything (the listings are not stored; only the run is recorded).
    public func driftPass(validated: LoadedManifests? = nil) async throws -> DriftPassResult {
        let inputs = try await load(validated: validated)
        return try await withRun("drift", lease: nil) { _ in
            let previous = try self.store.observations()
            let round = try await self.observe(inputs, record: false)
            let owned = try self.store.ownedFiles()
            let endpoints = inputs.desired.knownEndpoints
            let drift = DriftReport.detect(
                owned: owned, observations: round.observations, previous: previous,
                kinds: Dictionary(endpoints.map { ($0.id, $0.kind) }, uniquingKeysWith: { a, _ in a }),
                graceSeconds: self.configuration.policy.listingGraceSeconds)
            let names = Dictionary(endpoints.map { ($0.id, $0.displayName) }, uniquingKeysWith: { a, _ in a })
            let outcome: PassOutcome = drift.unlisted.isEmpty ? .planned : .failed
            return (
                DriftPassResult(drift: drift, endpointNames: names),
                RunEnding(outcome: outcome, summary: drift.summaryLine))
        }
    }
}
