/// Knobs that shape a plan.
public struct PlanPolicy: Hashable, Codable, Sendable {
    /// Most prunes (deletes of files whose declaration went away) a plan may carry; nil means no limit.
    public var maxDeletes: Int?
    /// Allow a plan that prunes while the manifests declare no file at all.
    public var allowEmpty: Bool
    /// An owned file created this many seconds before its listing may be missing from it (eventually
    /// consistent listings) without being forgotten.
    public var listingGraceSeconds: Int64
    /// Tolerated clock difference between Ferry and the provider when matching uploads to intents.
    public var clockSkewSeconds: Int64
    /// Slowest upload rate assumed when bounding how late an interrupted upload can have landed.
    public var minimumUploadBytesPerSecond: Int64

    public init(
        maxDeletes: Int? = 10, allowEmpty: Bool = false, listingGraceSeconds: Int64 = 60, clockSkewSeconds: Int64 = 120,
        minimumUploadBytesPerSecond: Int64 = 256 * 1024
    ) {
        self.maxDeletes = maxDeletes
        self.allowEmpty = allowEmpty
        self.listingGraceSeconds = listingGraceSeconds
        self.clockSkewSeconds = clockSkewSeconds
        self.minimumUploadBytesPerSecond = minimumUploadBytesPerSecond
    }

    /// The provider-side creation times an upload started at `startedAt` can have: from the start (less clock skew)
    /// to the latest moment a transfer of `bytes` could have finished. Narrow windows keep Ferry from mistaking
    /// someone else's identical upload for its own.
    public func uploadWindow(startedAt: Int64, bytes: Int64) -> ClosedRange<Int64> {
        let transfer = 60 + bytes / max(1, minimumUploadBytesPerSecond)
        return (startedAt - clockSkewSeconds)...(startedAt + clockSkewSeconds + transfer)
    }

    /// When an intent whose upload never appeared can be dropped: after its window, plus the listing grace.
    public func intentExpiry(startedAt: Int64, bytes: Int64) -> Int64 {
        uploadWindow(startedAt: startedAt, bytes: bytes).upperBound + listingGraceSeconds
    }
}

/// Everything the planner needs, already gathered.
public struct PlanInput: Sendable {
    public var desired: DesiredState
    /// SHA-256 per source path.
    public var digests: [String: String]
    /// Latest listing per endpoint id.
    public var observations: [String: EndpointObservation]
    public var owned: [OwnedFile]
    public var intents: [CreateIntent]
    /// Unix seconds.
    public var now: Int64

    public init(
        desired: DesiredState, digests: [String: String], observations: [String: EndpointObservation],
        owned: [OwnedFile], intents: [CreateIntent], now: Int64
    ) {
        self.desired = desired
        self.digests = digests
        self.observations = observations
        self.owned = owned
        self.intents = intents
        self.now = now
    }
}

/// Computes the plan: a pure function of desired state, observed listings, owned files and intents.
public enum Planner {
    public static func plan(_ input: PlanInput, policy: PlanPolicy = PlanPolicy()) -> Plan {
        var actions: [PlannedAction] = []
        var statuses: [PlacementStatus] = []
        var summaries: [EndpointSummary] = []
        var warnings: [String] = []

        let knownEndpoints = Dictionary(
            (input.desired.knownEndpoints + input.desired.endpoints).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Desired placements grouped by endpoint.
        var desiredByEndpoint: [String: [(DesiredFile, [String])]] = [:]
        for file in input.desired.files {
            for (endpoint, models) in input.desired.placements(of: file) {
                desiredByEndpoint[endpoint.id, default: []].append((file, models))
            }
        }
        let ownedByEndpoint = Dictionary(grouping: input.owned, by: \.endpointID)
        let intentsByEndpoint = Dictionary(grouping: input.intents, by: \.endpointID)
        let endpointIDs = Set(desiredByEndpoint.keys).union(ownedByEndpoint.keys).union(intentsByEndpoint.keys)

        for endpointID in endpointIDs.sorted() {
            let owned = ownedByEndpoint[endpointID] ?? []
            let intents = (intentsByEndpoint[endpointID] ?? []).sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
            let wanted = (desiredByEndpoint[endpointID] ?? []).sorted { $0.0.name < $1.0.name }
            guard let endpoint = knownEndpoints[endpointID] else {
                if !owned.isEmpty {
                    warnings.append(
                        "\(owned.count) owned file(s) on \(endpointID) are left in place: no model in the model list "
                            + "resolves to that endpoint any more; restore it to let Ferry prune them")
                }
                continue
            }
            guard let observation = input.observations[endpointID], let listing = observation.files else {
                let error = input.observations[endpointID]?.error ?? "not observed"
                for (file, models) in wanted {
                    statuses.append(
                        PlacementStatus(
                            file: file.name, endpointID: endpointID, models: models, state: .unknown,
                            detail: "listing failed: \(error)"))
                }
                summaries.append(
                    EndpointSummary(
                        endpointID: endpointID, displayName: endpoint.displayName, kind: endpoint.kind, listed: nil,
                        owned: owned.count, unmanaged: [], error: error))
                continue
            }
            let result = planEndpoint(
                endpointID: endpointID, wanted: wanted, listing: listing, observedAt: observation.observedAt,
                owned: owned, intents: intents, digests: input.digests, now: input.now, policy: policy)
            actions += result.actions
            statuses += result.statuses
            summaries.append(
                EndpointSummary(
                    endpointID: endpointID, displayName: endpoint.displayName, kind: endpoint.kind,
                    listed: listing.count, owned: result.ownedCount, unmanaged: result.unmanaged, error: nil))
        }

        actions.sort(by: PlannedAction.sortKey)
        statuses.sort { PlacementKey(file: $0.file, endpointID: $0.endpointID) < PlacementKey(file: $1.file, endpointID: $1.endpointID) }

        var blocked: [String] = []
        let prunes = actions.filter { $0.kind == .delete && $0.reason == .pruned }.count
        if let limit = policy.maxDeletes, prunes > limit {
            blocked.append(
                "the plan deletes \(prunes) files whose declarations were removed, over the budget of \(limit); "
                    + "check the manifests, or allow it with --max-deletes \(prunes)")
        }
        if input.desired.files.isEmpty, prunes > 0, !policy.allowEmpty {
            blocked.append(
                "the manifests declare no files, so the plan would delete every file Ferry owns (\(prunes)); "
                    + "if that is intended, pass --allow-empty")
        }
        return Plan(
            actions: actions, placements: statuses, endpoints: summaries, blocked: blocked, warnings: warnings,
            desiredFingerprint: fingerprint(input.desired, digests: input.digests))
    }

    struct EndpointResult {
        var actions: [PlannedAction] = []
        var statuses: [PlacementStatus] = []
        var unmanaged: [RemoteFile] = []
        var ownedCount = 0
    }

    /// A remote file serving (or having served) a placement: owned already, or about to be adopted.
    struct Holding {
        var remote: RemoteFile?
        var digest: String
        var filename: String
        var purpose: String
        var createdAt: Int64
        var remoteID: String
        var adopted: Bool
    }

    static func planEndpoint(
        endpointID: String, wanted: [(DesiredFile, [String])], listing: [RemoteFile], observedAt: Int64,
        owned: [OwnedFile], intents: [CreateIntent], digests: [String: String], now: Int64, policy: PlanPolicy
    ) -> EndpointResult {
        var result = EndpointResult()
        let listed = Dictionary(listing.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var holdings: [String: [Holding]] = [:]  // by desired file name
        var ownedPolicies: [String: DeletionPolicy] = [:]

        // Owned files: present, missing but maybe not yet listed, or gone.
        for record in owned.sorted(by: { ($0.file, $0.remoteID) < ($1.file, $1.remoteID) }) {
            ownedPolicies[record.file] = record.deletionPolicy
            if let remote = listed[record.remoteID] {
                holdings[record.file, default: []].append(
                    Holding(
                        remote: remote, digest: record.digest, filename: record.filename, purpose: record.purpose,
                        createdAt: record.createdAt, remoteID: record.remoteID, adopted: false))
            } else if record.createdAt >= observedAt - policy.listingGraceSeconds {
                holdings[record.file, default: []].append(
                    Holding(
                        remote: nil, digest: record.digest, filename: record.filename, purpose: record.purpose,
                        createdAt: record.createdAt, remoteID: record.remoteID, adopted: false))
            } else {
                result.actions.append(
                    PlannedAction(
                        kind: .forget, reason: .missingRemotely, file: record.file, endpointID: endpointID,
                        remoteID: record.remoteID))
            }
        }
        let ownedIDs = Set(owned.map(\.remoteID))

        // Write-ahead intents: each claims at most one unowned upload that matches it.
        var claimed = Set<String>()
        let unowned = listing.filter { !ownedIDs.contains($0.id) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        for intent in intents {
            let window = policy.uploadWindow(startedAt: intent.startedAt, bytes: intent.bytes)
            let match = unowned.first { remote in
                !claimed.contains(remote.id) && remote.filename == intent.filename && remote.bytes == intent.bytes
                    && remote.purpose == intent.purpose && window.contains(remote.createdAt)
            }
            if let match {
                claimed.insert(match.id)
                ownedPolicies[intent.file] = ownedPolicies[intent.file] ?? intent.deletionPolicy
                result.actions.append(
                    PlannedAction(
                        kind: .adopt, reason: .crashedUpload, file: intent.file, endpointID: endpointID,
                        remoteID: match.id, digest: intent.digest, bytes: intent.bytes, filename: intent.filename,
                        purpose: intent.purpose, deletionPolicy: intent.deletionPolicy, intentID: intent.id))
                holdings[intent.file, default: []].append(
                    Holding(
                        remote: match, digest: intent.digest, filename: intent.filename, purpose: intent.purpose,
                        createdAt: match.createdAt, remoteID: match.id, adopted: true))
            } else if now > policy.intentExpiry(startedAt: intent.startedAt, bytes: intent.bytes) {
                result.actions.append(
                    PlannedAction(
                        kind: .expireIntent, reason: .expired, file: intent.file, endpointID: endpointID,
                        intentID: intent.id))
            }
        }
        result.unmanaged = unowned.filter { !claimed.contains($0.id) }
        result.ownedCount = holdings.values.reduce(0) { $0 + $1.count }

        // Desired placements.
        var wantedNames = Set<String>()
        for (file, models) in wanted {
            wantedNames.insert(file.name)
            let digest = digests[file.sourcePath] ?? ""
            let held = holdings[file.name] ?? []
            let current = held.filter { holding in
                holding.digest == digest && holding.filename == file.filename && holding.purpose == file.purpose
                    && (holding.remote?.status.isUsable ?? true)
            }
            // Keep the longest-serving current file: it is the one models already use.
            let keep = current.min { ($0.adopted ? 1 : 0, $0.createdAt, $0.remoteID) < ($1.adopted ? 1 : 0, $1.createdAt, $1.remoteID) }
            let stale = held.filter { holding in !current.contains { $0.remoteID == holding.remoteID } }
            let extras = current.filter { $0.remoteID != keep?.remoteID }

            if let keep {
                for extra in extras {
                    result.actions.append(
                        PlannedAction(
                            kind: .delete, reason: .duplicate, file: file.name, endpointID: endpointID,
                            remoteID: extra.remoteID))
                }
                for old in stale {
                    result.actions.append(
                        PlannedAction(
                            kind: .delete, reason: .superseded, file: file.name, endpointID: endpointID,
                            remoteID: old.remoteID))
                }
                let pending = !extras.isEmpty || !stale.isEmpty || keep.adopted
                let processing = keep.remote.map { $0.status != .processed && $0.status != .unknown } ?? false
                result.statuses.append(
                    PlacementStatus(
                        file: file.name, endpointID: endpointID, models: models,
                        state: pending ? .outOfSync : (processing ? .processing : .inSync), remoteID: keep.remoteID,
                        pendingAction: pending ? (keep.adopted ? .adopt : .delete) : nil,
                        detail: processing ? "provider status: \(keep.remote?.status.rawValue ?? "")" : nil))
            } else {
                let failed = stale.contains { $0.remote.map { !$0.status.isUsable } ?? false }
                let kind: PlannedAction.Kind = stale.isEmpty ? .create : .replace
                let reason: PlannedAction.Reason = stale.isEmpty ? .new : (failed ? .failedRemotely : .changed)
                result.actions.append(
                    PlannedAction(
                        kind: kind, reason: reason, file: file.name, endpointID: endpointID,
                        replaces: stale.map(\.remoteID).sorted(), sourcePath: file.sourcePath, digest: digest,
                        bytes: file.bytes, filename: file.filename, purpose: file.purpose,
                        deletionPolicy: file.deletionPolicy))
                result.statuses.append(
                    PlacementStatus(
                        file: file.name, endpointID: endpointID, models: models, state: .outOfSync,
                        remoteID: stale.first?.remoteID, pendingAction: kind,
                        detail: failed ? "the provider reports the current file as failed" : nil))
            }
        }

        // Owned files whose declaration (or this endpoint's part in it) went away.
        for (name, held) in holdings.sorted(by: { $0.key < $1.key }) where !wantedNames.contains(name) {
            let retain = ownedPolicies[name] == .retain
            for holding in held.sorted(by: { $0.remoteID < $1.remoteID }) {
                result.actions.append(
                    PlannedAction(
                        kind: retain ? .release : .delete, reason: retain ? .retained : .pruned, file: name,
                        endpointID: endpointID, remoteID: holding.remoteID))
            }
        }
        return result
    }

    /// SHA-256 over what the manifests ask for (names, sources' digests, purposes, filenames, targets, policies).
    public static func fingerprint(_ desired: DesiredState, digests: [String: String]) -> String {
        var hasher = SHA256Digest()
        for file in desired.files {
            hasher.update(
                [
                    file.name, file.sourcePath, digests[file.sourcePath] ?? "", file.purpose, file.filename,
                    file.deletionPolicy.rawValue, file.targetModels.joined(separator: ","),
                ].joined(separator: "\u{1}") + "\u{2}")
            for (endpoint, models) in desired.placements(of: file) {
                hasher.update(endpoint.id + "=" + models.joined(separator: ",") + "\u{3}")
            }
        }
        return hasher.hexDigest()
    }
}
