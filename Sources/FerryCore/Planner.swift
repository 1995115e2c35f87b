import Dispatch

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
    /// Upload a declared file even when the provider already holds a file that looks like Ferry's upload of it but
    /// the state has no record of it (invariant 9: by default such placements are refused and `ferry import` offered).
    public var allowDuplicates: Bool
    /// The names the plan may act on (`--target`/`--exclude`); actions on other names are left for a later run.
    public var scope: PlanScope
    /// A remote copy the provider will delete by itself within this many seconds (Gemini's 48-hour files, OpenAI's
    /// `expires_after`) is replaced by a fresh one first (`--refresh-before-expiry`).
    public var refreshBeforeExpirySeconds: Int64

    public init(
        maxDeletes: Int? = 10, allowEmpty: Bool = false, listingGraceSeconds: Int64 = 60, clockSkewSeconds: Int64 = 120,
        minimumUploadBytesPerSecond: Int64 = 256 * 1024, allowDuplicates: Bool = false, scope: PlanScope = .everything,
        refreshBeforeExpirySeconds: Int64 = Expiry.defaultRefreshMarginSeconds
    ) {
        self.scope = scope
        self.refreshBeforeExpirySeconds = refreshBeforeExpirySeconds
        self.maxDeletes = maxDeletes
        self.allowEmpty = allowEmpty
        self.allowDuplicates = allowDuplicates
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
    /// Latest vector store listing per endpoint id (endpoints of declared stores, and those where Ferry owns one).
    public var vectorStores: [String: VectorStoreObservation] = [:]
    /// Source paths left unhashed because the upload computes their digest (`DigestDeferral.deferrable`): their
    /// creates carry no digest and say so (`PlannedAction.digestDeferred`).
    public var deferredDigests: Set<String> = []

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
    /// Placements plus listed files above which endpoints are planned on several threads.
    static let parallelThreshold = 20_000

    public static func plan(_ input: PlanInput, policy: PlanPolicy = PlanPolicy()) -> Plan {
        plan(input, policy: policy, parallel: nil)
    }

    /// `parallel`: nil decides by the amount of work; tests force either way to prove both give the same plan.
    static func plan(_ input: PlanInput, policy: PlanPolicy, parallel: Bool?) -> Plan {
        var actions: [PlannedAction] = []
        var summaries: [EndpointSummary] = []
        var warnings: [String] = []
        var blocked: [String] = []
        var untracked: [UntrackedFile] = []

        let knownEndpoints = Dictionary(
            (input.desired.knownEndpoints + input.desired.endpoints).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Placements of every file, resolved once (the fingerprint needs them too).
        let placements = input.desired.resolvedPlacements()
        let files = input.desired.files
        // Statuses go straight to their place in (file name, endpoint id) order: a file's placements are in endpoint
        // id order already, so its k-th placement's slot is the file's first slot plus k. (`DesiredState` keeps its
        // files in name order: checked, not assumed.)
        let byName =
            files.indices.dropFirst().allSatisfy { files[$0 - 1].name < files[$0].name }
            ? Array(files.indices) : files.indices.sorted { files[$0].name < files[$1].name }
        var firstSlot = [Int](repeating: 0, count: files.count)
        var slotCount = 0
        for index in byName {
            firstSlot[index] = slotCount
            slotCount += placements[index].count
        }
        // Desired placements grouped by endpoint, each group in an array of its exact size. Files with the same
        // targets share one placement list (`resolvedPlacements`), so endpoints are numbered once per distinct list
        // (by the list's storage), not looked up by id for each placement.
        var endpointNumbers: [String: Int] = [:]
        var numbersByList: [UnsafeRawPointer: [Int]] = [:]
        func numbers(_ list: [(endpoint: Endpoint, models: [String])]) -> [Int] {
            let key = DesiredState.identity(of: list)
            if let known = numbersByList[key] { return known }
            let made = list.map { placement in
                if let number = endpointNumbers[placement.endpoint.id] { return number }
                endpointNumbers[placement.endpoint.id] = endpointNumbers.count
                return endpointNumbers.count - 1
            }
            numbersByList[key] = made
            return made
        }
        var counts: [Int] = []
        for index in files.indices {
            for number in numbers(placements[index]) {
                if number == counts.count { counts.append(0) }
                counts[number] += 1
            }
        }
        var groups = counts.map { count in
            var group: [Wanted] = []
            group.reserveCapacity(count)
            return group
        }
        for index in files.indices {
            for (position, number) in numbers(placements[index]).enumerated() {
                groups[number].append(
                    Wanted(
                        file: Int32(index), slot: Int32(firstSlot[index] + position),
                        models: placements[index][position].models))
            }
        }
        var desiredByEndpoint: [String: [Wanted]] = [:]
        for (endpointID, number) in endpointNumbers { desiredByEndpoint[endpointID] = groups[number] }
        groups = []
        firstSlot = []
        // Owned files by endpoint, as indices into `input.owned` (no copies of the records).
        // The endpoints are few: each record's is found by a scan (its id is mostly the very string of the others on
        // that endpoint, which compares at once), and each group is made at its exact size.
        var ownedGroups: [(endpointID: String, count: Int)] = []
        // (Records are not copied out of the array: each copy retains and releases seven strings.)
        func group(_ endpointID: String) -> Int {
            if let known = ownedGroups.firstIndex(where: { $0.endpointID == endpointID }) { return known }
            ownedGroups.append((endpointID, 0))
            return ownedGroups.count - 1
        }
        for index in input.owned.indices { ownedGroups[group(input.owned[index].endpointID)].count += 1 }
        var ownedIndices = ownedGroups.map { group in
            var indices: [Int32] = []
            indices.reserveCapacity(group.count)
            return indices
        }
        for index in input.owned.indices {
            ownedIndices[group(input.owned[index].endpointID)].append(Int32(index))
        }
        var ownedByEndpoint: [String: [Int32]] = [:]
        for (number, group) in ownedGroups.enumerated() { ownedByEndpoint[group.endpointID] = ownedIndices[number] }
        ownedIndices = []
        let fileDigests = files.map { input.digests[$0.sourcePath] ?? "" }
        let intentsByEndpoint = Dictionary(grouping: input.intents, by: \.endpointID)
        let endpointIDs = Set(desiredByEndpoint.keys).union(ownedByEndpoint.keys).union(intentsByEndpoint.keys)

        // Endpoints are independent: plan the listed ones in parallel when there is enough work, then put the
        // results together in endpoint order, so the plan is the same either way.
        struct Job: Sendable {
            var endpointID: String
            var wanted: [Wanted]
            var listing: [RemoteFile]
            var observedAt: Int64
            var owned: [Int32]
            var intents: [CreateIntent]
            var keepsPurpose: Bool
        }
        var jobs: [Job] = []
        var ordered: [(endpointID: String, job: Int?)] = []
        for endpointID in endpointIDs.sorted() {
            let owned = ownedByEndpoint[endpointID] ?? []
            let intents = (intentsByEndpoint[endpointID] ?? []).sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
            var wanted = desiredByEndpoint.removeValue(forKey: endpointID) ?? []
            if !wanted.indices.dropFirst().allSatisfy({ wanted[$0 - 1].slot < wanted[$0].slot }) {
                wanted.sort { $0.slot < $1.slot }
            }
            guard let observation = input.observations[endpointID], let listing = observation.files,
                knownEndpoints[endpointID] != nil
            else {
                desiredByEndpoint[endpointID] = wanted
                ordered.append((endpointID, nil))
                continue
            }
            ordered.append((endpointID, jobs.count))
            jobs.append(
                Job(
                    endpointID: endpointID, wanted: wanted, listing: listing, observedAt: observation.observedAt,
                    owned: owned, intents: intents, keepsPurpose: knownEndpoints[endpointID]?.kind.keepsPurpose ?? true))
        }
        // One result per job, each written by exactly one iteration before any is read.
        struct Results: @unchecked Sendable { let buffer: UnsafeMutableBufferPointer<EndpointResult> }
        let results = Results(buffer: .allocate(capacity: jobs.count))
        defer { results.buffer.deinitialize().deallocate() }
        let work = jobs.reduce(0) { $0 + $1.wanted.count + $1.listing.count }
        // The desired state's fingerprint depends on nothing planned: one more job beside the endpoints'.
        let fingerprintSlot = Parallel.Slots(base: UnsafeMutablePointer<String>.allocate(capacity: 1))
        defer {
            fingerprintSlot.base.deinitialize(count: 1)
            fingerprintSlot.base.deallocate()
        }

        // Every placement's status is written once, in place, by whoever plans its endpoint.
        let statuses = [PlacementStatus](unsafeUninitializedCapacity: slotCount) { buffer, count in
            let slots = StatusSlots(base: buffer.baseAddress)
            let run: @Sendable (Int) -> Void = { [jobs] index in
                guard index < jobs.count else {
                    fingerprintSlot.base.initialize(
                        to: fingerprint(input.desired, fileDigests: fileDigests, placements: placements))
                    return
                }
                let job = jobs[index]
                (results.buffer.baseAddress! + index).initialize(
                    to: planEndpoint(
                        endpointID: job.endpointID, files: files, wanted: job.wanted, listing: job.listing,
                        observedAt: job.observedAt, allOwned: input.owned, owned: job.owned, intents: job.intents,
                        digests: fileDigests, now: input.now, policy: policy, keepsPurpose: job.keepsPurpose,
                        statuses: slots))
            }
            if jobs.count > 1, parallel ?? (work >= parallelThreshold) {
                DispatchQueue.concurrentPerform(iterations: jobs.count + 1, execute: run)
            } else {
                for index in 0...jobs.count { run(index) }
            }
            var written = jobs.reduce(0) { $0 + $1.wanted.count }

            for (endpointID, job) in ordered {
                let owned = ownedByEndpoint[endpointID] ?? []
                guard let job else {
                    // Not listed (or, which a validated model list never gives, not an endpoint of any model):
                    // nothing is known of its placements.
                    let error =
                        knownEndpoints[endpointID] == nil
                        ? "no model resolves to this endpoint" : input.observations[endpointID]?.error ?? "not observed"
                    for entry in desiredByEndpoint[endpointID] ?? [] {
                        slots.put(
                            PlacementStatus(
                                file: files[entry.file].name, unifiedID: files[entry.file].unifiedID,
                                endpointID: endpointID, models: entry.models, state: .unknown,
                                detail: "listing failed: \(error)"),
                            at: entry.slot)
                        written += 1
                    }
                    guard let endpoint = knownEndpoints[endpointID] else {
                        if !owned.isEmpty {
                            warnings.append(
                                "\(owned.count) owned file(s) on \(endpointID) are left in place: no model in the model "
                                    + "list resolves to that endpoint any more; restore it to let Ferry prune them")
                        }
                        continue
                    }
                    summaries.append(
                        EndpointSummary(
                            endpointID: endpointID, displayName: endpoint.displayName, kind: endpoint.kind, listed: nil,
                            owned: owned.count, unmanaged: [], error: error))
                    continue
                }
                let endpoint = knownEndpoints[endpointID]!  // (jobs are made for known endpoints only)
                var result = results.buffer[job]
                // Emptied as it is taken.
                results.buffer[job] = EndpointResult()
                if !policy.scope.isEverything {
                    result.untracked.removeAll { !policy.scope.includes($0.file) }
                }
                actions += result.actions
                if !result.untracked.isEmpty {
                    untracked += result.untracked
                    blocked.append(
                        "\(endpoint.displayName) already holds \(result.untracked.count) file(s) matching declared "
                            + "files by name, size and purpose that this state has no record of (a new or lost "
                            + "state?); adopt them with 'ferry import', or upload again anyway with --allow-duplicates")
                }
                summaries.append(
                    EndpointSummary(
                        endpointID: endpointID, displayName: endpoint.displayName, kind: endpoint.kind,
                        listed: jobs[job].listing.count, owned: result.ownedCount, unmanaged: result.unmanaged,
                        error: nil))
            }
            // Each placement is wanted on exactly one endpoint, and every wanted entry gets its status.
            precondition(written == slotCount, "planner wrote \(written) of \(slotCount) placement statuses")
            count = slotCount
        }

        if !input.deferredDigests.isEmpty {
            for index in actions.indices
            where actions[index].kind == .create && input.deferredDigests.contains(actions[index].sourcePath ?? "") {
                actions[index].digest = nil
                actions[index].digestDeferred = true
            }
        }
        actions.sort(by: PlannedAction.sortKey)
        if !policy.scope.isEverything {
            let outside = actions.filter { !policy.scope.includes($0.file) }
            actions.removeAll { !policy.scope.includes($0.file) }
            let touched = Set(outside.filter(\.kind.mutatesProvider).map(\.file))
            warnings.append(
                "targeting is in effect (\(policy.scope.flags)): only matching files are planned"
                    + (touched.isEmpty ? "" : "; \(touched.count) other file(s) with changes are left for a later run"))
        }
        // A declared lifetime within the refresh margin would have every new copy replaced again on the next pass.
        let margin = policy.refreshBeforeExpirySeconds
        for file in input.desired.files where (file.expiresAfterSeconds ?? .max) <= margin {
            blocked.append(
                "\(file.name) declares expiresAfter \(Expiry.text(seconds: file.expiresAfterSeconds ?? 0)), not longer "
                    + "than the refresh margin \(Expiry.text(seconds: margin)) (--refresh-before-expiry): every new "
                    + "copy would be replaced at once; raise expiresAfter or lower the margin")
        }

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
        var plan = Plan(
            actions: actions, placements: statuses, endpoints: summaries, blocked: blocked, warnings: warnings,
            desiredFingerprint: fingerprintSlot.base.pointee)
        plan.untracked = untracked.isEmpty ? nil : untracked
        plan.scope = policy.scope.isEverything ? nil : policy.scope
        if !input.desired.vectorStores.isEmpty || input.vectorStores.values.contains(where: { !($0.stores ?? []).isEmpty }) {
            let stores = VectorStorePlanner.plan(
                desired: input.desired, observations: input.vectorStores, filePlan: plan, owned: input.owned,
                scope: policy.scope)
            plan.vectorStoreActions = stores.actions
            plan.vectorStores = stores.statuses
        }
        return plan
    }

    /// One desired placement on the endpoint being planned.
    struct Wanted: Sendable {
        /// Index in `desired.files` (32 bits: 300,000 of these are held while a large workspace is planned).
        private var fileIndex: Int32
        /// Where its status goes in the plan's placements ((file name, endpoint id) order): increasing with the
        /// file's name on any one endpoint.
        private var slotIndex: Int32
        var models: [String]

        init(file: Int32, slot: Int32, models: [String]) {
            fileIndex = file
            slotIndex = slot
            self.models = models
        }

        var file: Int { Int(fileIndex) }
        var slot: Int { Int(slotIndex) }
    }

    /// The plan's placement statuses while they are written: each slot initialised exactly once (endpoints are
    /// planned in parallel, on disjoint slots).
    struct StatusSlots: @unchecked Sendable {
        /// nil when there are no placements (and so no slot).
        let base: UnsafeMutablePointer<PlacementStatus>?

        /// Takes the status (the caller's last use of it): moved into its slot, not copied.
        func put(_ status: consuming PlacementStatus, at slot: Int) { (base! + slot).initialize(to: status) }
    }

    struct EndpointResult {
        var actions: [PlannedAction] = []
        var unmanaged: [RemoteFile] = []
        var ownedCount = 0
        /// Unmanaged files that match a placement with nothing owned (no create was planned for it).
        var untracked: [UntrackedFile] = []
    }

    /// A remote file serving (or having served) a placement: owned already, or about to be adopted.
    struct Holding {
        /// The listed file's status; nil when it is not (yet) in the listing.
        var remote: RemoteFileStatus?
        var digest: String
        var filename: String
        var purpose: String
        var createdAt: Int64
        var remoteID: String
        var adopted: Bool
        /// When the provider deletes the file by itself (from the listing); nil when it does not.
        var expiresAt: Int64? = nil
    }

    /// What is held under names not wanted on the endpoint (or taken over by a renamed file), with the policy the
    /// state recorded for the name.
    struct HeldName {
        var held: [Holding]
        var policy: DeletionPolicy?
    }

    /// Plans one endpoint; writes the status of each of `wanted` (in name order) into `statuses`.
    ///
    /// Owned files and wanted placements are both in name order, so they are walked side by side (a merge) rather
    /// than gathered into tables by name: at 100,000 files per endpoint those tables were tens of megabytes and
    /// most of the planning time. Only names held but not wanted, renamed files and adopted uploads (none in a
    /// converged pass) go into tables.
    static func planEndpoint(
        endpointID: String, files: [DesiredFile], wanted: [Wanted], listing: [RemoteFile], observedAt: Int64,
        allOwned: [OwnedFile], owned ownedIndices: [Int32], intents: [CreateIntent], digests: [String], now: Int64,
        policy: PlanPolicy, keepsPurpose: Bool = true, statuses: StatusSlots
    ) -> EndpointResult {
        // A placement's purpose: the declared one, or none where the provider keeps none (Anthropic).
        func purpose(_ file: DesiredFile) -> String { keepsPurpose ? file.purpose : "" }
        var result = EndpointResult()
        // Each listed id's first position (a listing can repeat an id: its first entry counts).
        var listed = ListingIndex(listing)
        // A copy about to be deleted by the provider is no longer current: it is replaced (create first, then
        // delete), like changed content. Not when the copy's whole lifetime is within the margin: a new one would be
        // "about to expire" too (the margin is validated against fixed lifetimes, `Expiry.marginProblem`).
        let margin = policy.refreshBeforeExpirySeconds
        func expiring(_ holding: Holding) -> Bool {
            guard let expires = holding.expiresAt, expires - holding.createdAt > margin else { return false }
            return expires - now <= margin
        }

        // Owned files in (name, remote id) order. (The store returns them so already; check before paying for a
        // sort.)
        func ownedOrder(_ a: Int32, _ b: Int32) -> Bool {
            let (a, b) = (Int(a), Int(b))
            return (allOwned[a].file, allOwned[a].remoteID) < (allOwned[b].file, allOwned[b].remoteID)
        }
        let inOrder = ownedIndices.indices.dropFirst().allSatisfy { !ownedOrder(ownedIndices[$0], ownedIndices[$0 - 1]) }
        let order = inOrder ? ownedIndices : ownedIndices.sorted(by: ownedOrder)
        func name(at position: Int) -> String { allOwned[Int(order[position])].file }

        // Owned files: present (their listing position), missing but maybe not yet listed, or gone (forgotten).
        let (notListed, forgotten) = (Int32(-1), Int32(-2))
        var listedPosition = [Int32](repeating: forgotten, count: order.count)  // by position in `order`
        var ownedListing = [Bool](repeating: false, count: listing.count)  // by listing position
        var live = 0
        for (position, index) in order.enumerated() {
            let index = Int(index)
            if let at = listed.position(of: allOwned[index].remoteID) {
                listedPosition[position] = Int32(at)
                ownedListing[at] = true
                live += 1
            } else if allOwned[index].createdAt >= observedAt - policy.listingGraceSeconds {
                listedPosition[position] = notListed
                live += 1
            } else {
                let record = allOwned[index]
                result.actions.append(
                    PlannedAction(
                        kind: .forget, reason: .missingRemotely, file: record.file, unifiedID: record.unifiedID,
                        endpointID: endpointID, remoteID: record.remoteID))
            }
        }
        /// The owned files still held from `run` (positions in `order`), appended to `held`.
        func holdings(_ run: Range<Int>, into held: inout [Holding]) {
            for position in run where listedPosition[position] != forgotten {
                let (index, at) = (Int(order[position]), Int(listedPosition[position]))
                held.append(
                    Holding(
                        remote: at < 0 ? nil : listing[at].status, digest: allOwned[index].digest,
                        filename: allOwned[index].filename, purpose: allOwned[index].purpose,
                        createdAt: allOwned[index].createdAt, remoteID: allOwned[index].remoteID, adopted: false,
                        expiresAt: at < 0 ? nil : listing[at].expiresAt))
            }
        }
        /// The positions from `start` whose owned files have the name of the one at `start`.
        func run(from start: Int) -> Range<Int> {
            let first = name(at: start)
            var end = start + 1
            while end < order.count, name(at: end) == first { end += 1 }
            return start..<end
        }
        /// The policy the state holds for the name of `run`'s files: its last row's (nil for an empty run).
        func recordedPolicy(_ run: Range<Int>) -> DeletionPolicy? {
            run.isEmpty ? nil : allOwned[Int(order[run.upperBound - 1])].deletionPolicy
        }
        /// The run of owned files named `name` (empty when there is none).
        func run(named wanted: String) -> Range<Int> {
            var (low, high) = (0, order.count)
            while low < high {
                let middle = (low + high) / 2
                if name(at: middle) < wanted { low = middle + 1 } else { high = middle }
            }
            return low < order.count && name(at: low) == wanted ? run(from: low) : low..<low
        }

        // Write-ahead intents: each claims at most one unowned upload that matches it.
        var claimed = Set<String>()
        var unowned: [RemoteFile] = []
        for position in listing.indices where !ownedListing[listed.firstPosition(of: position)] {
            unowned.append(listing[position])
        }
        ownedListing = []
        listed = ListingIndex([])
        unowned.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        var adopted: [String: [Holding]] = [:]
        // The policy of the first adopted upload of each name (the owned files' own, when there are any, prevails).
        var adoptedPolicies: [String: DeletionPolicy] = [:]
        for intent in intents {
            let window = policy.uploadWindow(startedAt: intent.startedAt, bytes: intent.bytes)
            let match = unowned.first { remote in
                !claimed.contains(remote.id) && remote.filename == intent.filename && remote.bytes == intent.bytes
                    && remote.purpose == intent.purpose && window.contains(remote.createdAt)
            }
            if let match {
                claimed.insert(match.id)
                if adoptedPolicies[intent.file] == nil { adoptedPolicies[intent.file] = intent.deletionPolicy }
                result.actions.append(
                    PlannedAction(
                        kind: .adopt, reason: .crashedUpload, file: intent.file, endpointID: endpointID,
                        remoteID: match.id, digest: intent.digest, bytes: intent.bytes, filename: intent.filename,
                        purpose: intent.purpose, deletionPolicy: intent.deletionPolicy, intentID: intent.id))
                adopted[intent.file, default: []].append(
                    Holding(
                        remote: match.status, digest: intent.digest, filename: intent.filename, purpose: intent.purpose,
                        createdAt: match.createdAt, remoteID: match.id, adopted: true, expiresAt: match.expiresAt))
            } else if now > policy.intentExpiry(startedAt: intent.startedAt, bytes: intent.bytes) {
                result.actions.append(
                    PlannedAction(
                        kind: .expireIntent, reason: .expired, file: intent.file, endpointID: endpointID,
                        intentID: intent.id))
            }
        }
        result.unmanaged = unowned.filter { !claimed.contains($0.id) }
        unowned = []
        result.ownedCount = live + adopted.values.reduce(0) { $0 + $1.count }

        // Names held here but not wanted here (pruned, released, or taken over by a renamed file below), and the
        // wanted files with nothing held here (positions in `wanted`): both empty in a converged pass.
        var orphans: [String: HeldName] = [:]
        var unheld: [Int] = []
        var cursor = 0
        func skipUnwanted(before limit: String?) {
            while cursor < order.count, limit.map({ name(at: cursor) < $0 }) ?? true {
                let skipped = run(from: cursor)
                var held: [Holding] = []
                holdings(skipped, into: &held)
                if !held.isEmpty { orphans[name(at: cursor)] = HeldName(held: held, policy: recordedPolicy(skipped)) }
                cursor = skipped.upperBound
            }
        }
        for (position, entry) in wanted.enumerated() {
            let wantedName = files[entry.file].name
            skipUnwanted(before: wantedName)
            var holds = !adopted.isEmpty && adopted[wantedName] != nil
            if cursor < order.count, name(at: cursor) == wantedName {
                let own = run(from: cursor)
                holds = holds || listedPosition[own].contains { $0 != forgotten }
                cursor = own.upperBound
            }
            if !holds { unheld.append(position) }
        }
        skipUnwanted(before: nil)
        if !adopted.isEmpty {
            let wantedNames = Set(wanted.map { files[$0.file].name })
            for (adoptedName, held) in adopted where !wantedNames.contains(adoptedName) {
                if orphans[adoptedName] != nil {
                    orphans[adoptedName]!.held += held
                } else {
                    orphans[adoptedName] = HeldName(
                        held: held, policy: recordedPolicy(run(named: adoptedName)) ?? adoptedPolicies[adoptedName])
                }
            }
        }

        // Renames: a declared file with nothing held here takes over the holdings of a name no longer wanted here,
        // when that name is in its `previousNames`, or when they hold exactly its content (same digest, file name
        // and purpose). The remote file stays; only the state's record moves, so nothing is uploaded or deleted.
        var renamed: [String: HeldName] = [:]
        if !orphans.isEmpty, !unheld.isEmpty {
            var candidates = orphans.keys.sorted()  // the names not taken yet, in order
            for position in unheld where !candidates.isEmpty {
                let entry = wanted[position]
                let file = files[entry.file]
                let digest = digests[entry.file]
                let from =
                    file.previousNames.first { orphans[$0] != nil }
                    ?? candidates.first { name in
                        orphans[name]!.held.contains {
                            $0.digest == digest && $0.filename == file.filename && $0.purpose == purpose(file)
                                && ($0.remote?.isUsable ?? true)
                        }
                    }
                guard let from, let taken = orphans.removeValue(forKey: from) else { continue }
                candidates.removeAll { $0 == from }
                for holding in taken.held.sorted(by: { $0.remoteID < $1.remoteID }) {
                    var action = PlannedAction(
                        kind: .move, reason: .renamed, file: file.name, unifiedID: file.unifiedID, endpointID: endpointID,
                        remoteID: holding.remoteID)
                    action.previousName = from
                    result.actions.append(action)
                }
                renamed[file.name] = taken
            }
        }

        // Desired placements, walked beside the owned files of their names.
        var untrackedTaken = Set<String>()
        var held: [Holding] = []
        cursor = 0
        // Each declared file is read in place, through a pointer: `let file = files[i]` copied it (retaining and
        // releasing all of its strings) for every placement.
        files.withUnsafeBufferPointer { files in
            for entry in wanted {
                let file = files.baseAddress! + entry.file
                let models = entry.models
                let digest = digests[entry.file]
                while cursor < order.count, name(at: cursor) < file.pointee.name { cursor += 1 }
                let own = cursor < order.count && name(at: cursor) == file.pointee.name ? run(from: cursor) : cursor..<cursor
                cursor = own.upperBound
                held.removeAll(keepingCapacity: true)
                let takenOver = renamed.isEmpty ? nil : renamed[file.pointee.name]
                if let takenOver {
                    held = takenOver.held
                } else {
                    holdings(own, into: &held)
                    if !adopted.isEmpty, let uploads = adopted[file.pointee.name] { held += uploads }
                }
                func isSame(_ holding: Holding) -> Bool {
                    holding.digest == digest && holding.filename == file.pointee.filename && holding.purpose == purpose(file.pointee)
                        && (holding.remote?.isUsable ?? true)
                }
                func isCurrent(_ holding: Holding) -> Bool { isSame(holding) && !expiring(holding) }
                // The common case, one current file: no intermediate arrays.
                let current = held.count == 1 && isCurrent(held[0]) ? held : held.filter(isCurrent)
                // Keep the longest-serving current file: it is the one models already use.
                let keep = current.count == 1 ? current[0] : current.min { ($0.adopted ? 1 : 0, $0.createdAt, $0.remoteID) < ($1.adopted ? 1 : 0, $1.createdAt, $1.remoteID) }
                let stale = current.count == held.count ? [] : held.filter { holding in !current.contains { $0.remoteID == holding.remoteID } }
                let extras = current.count <= 1 ? [] : current.filter { $0.remoteID != keep?.remoteID }

                // The policy the state holds governs deletes: protection lasts until an apply records its removal.
                let recorded =
                    takenOver?.policy ?? recordedPolicy(own) ?? (adoptedPolicies.isEmpty ? nil : adoptedPolicies[file.pointee.name])
                let protected = recorded == .protect
                let status: PlacementStatus
                if let keep {
                    for extra in extras {
                        result.actions.append(
                            PlannedAction(
                                kind: protected ? .release : .delete, reason: protected ? .protected : .duplicate,
                                file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID, remoteID: extra.remoteID))
                    }
                    for old in stale {
                        result.actions.append(
                            PlannedAction(
                                kind: protected ? .release : .delete, reason: protected ? .protected : .superseded,
                                file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID, remoteID: old.remoteID))
                    }
                    let policyChanged = !keep.adopted && recorded != nil && recorded != file.pointee.deletionPolicy
                    if policyChanged {
                        result.actions.append(
                            PlannedAction(
                                kind: .setPolicy, reason: .policyChanged, file: file.pointee.name, unifiedID: file.pointee.unifiedID,
                                endpointID: endpointID, deletionPolicy: file.pointee.deletionPolicy))
                    }
                    let wasMoved = takenOver != nil
                    let pending = !extras.isEmpty || !stale.isEmpty || keep.adopted || policyChanged || wasMoved
                    let processing = keep.remote.map { $0 != .processed && $0 != .unknown } ?? false
                    status = PlacementStatus(
                        file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID, models: models,
                        state: pending ? .outOfSync : (processing ? .processing : .inSync), remoteID: keep.remoteID,
                        pendingAction: pending
                            ? (keep.adopted ? .adopt : wasMoved ? .move : policyChanged && stale.isEmpty && extras.isEmpty ? .setPolicy : .delete)
                            : nil,
                        detail: processing ? "provider status: \(keep.remote?.rawValue ?? "")" : nil)
                } else if stale.isEmpty, !policy.allowDuplicates,
                    let match = untrackedMatch(
                        for: file.pointee, purpose: purpose(file.pointee), in: result.unmanaged, taken: &untrackedTaken)
                {
                    // Invariant 9: the file looks like Ferry's own upload, made under a state that is now lost. Uploading
                    // again would leave two copies; refuse and point to `ferry import`.
                    result.untracked.append(UntrackedFile(file: file.pointee.name, endpointID: endpointID, remote: match))
                    status = PlacementStatus(
                        file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID, models: models,
                        state: .outOfSync, remoteID: match.id,
                        detail: "\(match.id) matches this file but the state has no record of it: run 'ferry import'")
                } else {
                    let failed = stale.contains { $0.remote.map { !$0.isUsable } ?? false }
                    // Only expiry makes the held copy stale: a fresh copy of the same content replaces it.
                    let refresh = !stale.isEmpty && stale.allSatisfy { isSame($0) && expiring($0) }
                    let kind: PlannedAction.Kind = stale.isEmpty ? .create : .replace
                    let reason: PlannedAction.Reason =
                        stale.isEmpty ? .new : (failed ? .failedRemotely : refresh ? .expiring : .changed)
                    if protected {
                        // The old files stay on the provider: released, not deleted by the replace.
                        for old in stale.sorted(by: { $0.remoteID < $1.remoteID }) {
                            result.actions.append(
                                PlannedAction(
                                    kind: .release, reason: .protected, file: file.pointee.name, unifiedID: file.pointee.unifiedID,
                                    endpointID: endpointID, remoteID: old.remoteID))
                        }
                    }
                    var action = PlannedAction(
                        kind: kind, reason: reason, file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID,
                        replaces: protected ? [] : stale.map(\.remoteID).sorted(), sourcePath: file.pointee.sourcePath, digest: digest,
                        bytes: file.pointee.bytes, filename: file.pointee.filename, purpose: purpose(file.pointee),
                        deletionPolicy: file.pointee.deletionPolicy)
                    action.expiresAt = stale.compactMap(\.expiresAt).min()
                    action.expiresAfterSeconds = file.pointee.expiresAfterSeconds
                    result.actions.append(action)
                    status = PlacementStatus(
                        file: file.pointee.name, unifiedID: file.pointee.unifiedID, endpointID: endpointID, models: models,
                        state: .outOfSync, remoteID: stale.first?.remoteID, pendingAction: kind,
                        detail: failed
                            ? "the provider reports the current file as failed"
                            : refresh ? "the provider deletes the current copy within the refresh margin" : nil)
                }
                statuses.put(status, at: entry.slot)
            }
        }

        // Owned files whose declaration (or this endpoint's part in it) went away.
        for name in orphans.keys.sorted() {
            let orphan = orphans[name]!
            let policy = orphan.policy ?? .delete
            for holding in orphan.held.sorted(by: { $0.remoteID < $1.remoteID }) {
                result.actions.append(
                    PlannedAction(
                        kind: policy.keepsRemote ? .release : .delete,
                        reason: policy == .protect ? .protected : (policy == .retain ? .retained : .pruned), file: name,
                        endpointID: endpointID, remoteID: holding.remoteID))
            }
        }
        return result
    }

    /// The plan of `ferry import`: adopt into the state each untracked file (see `Plan.untracked`) whose content is
    /// the declared file's, and nothing else.
    /// - Parameter verifiedDigests: SHA-256 (hex) of remote files' content, by remote id, where the engine could
    ///   read it (downloaded and hashed, or Ferry's metadata on Cloud Storage). A file with a known digest imports
    ///   only when it equals the source's (`content-match`); one without imports on name, size and purpose
    ///   (`name-match`, shown as the weaker match it is). A mismatch is left untouched and reported.
    public static func importPlan(_ input: PlanInput, policy: PlanPolicy, verifiedDigests: [String: String]) -> Plan {
        var strict = policy
        strict.allowDuplicates = false
        let base = plan(input, policy: strict)
        let files = Dictionary(input.desired.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var actions: [PlannedAction] = []
        var warnings = base.warnings
        for candidate in base.untracked ?? [] {
            guard let file = files[candidate.file] else { continue }
            let expected = input.digests[file.sourcePath] ?? ""
            let reason: PlannedAction.Reason
            if let actual = verifiedDigests[candidate.remote.id] {
                guard actual == expected else {
                    warnings.append(
                        "\(candidate.remote.id) has the name and size of \(file.name) but other content; left alone")
                    continue
                }
                reason = .contentMatch
            } else {
                reason = .nameMatch
            }
            actions.append(
                PlannedAction(
                    kind: .import, reason: reason, file: file.name, unifiedID: file.unifiedID,
                    endpointID: candidate.endpointID, remoteID: candidate.remote.id, digest: expected,
                    bytes: candidate.remote.bytes, filename: file.filename, purpose: candidate.remote.purpose,
                    deletionPolicy: file.deletionPolicy))
        }
        actions.sort(by: PlannedAction.sortKey)  // (the base plan's untracked files are already within its scope)
        var plan = Plan(
            actions: actions, placements: base.placements, endpoints: base.endpoints, blocked: [], warnings: warnings,
            desiredFingerprint: base.desiredFingerprint)
        plan.untracked = base.untracked
        plan.scope = base.scope
        plan.mode = .import
        return plan
    }

    /// The oldest unmanaged file (not yet matched to another placement) with the declared file's name, size and
    /// purpose (the placement's: empty where the provider keeps none); on Cloud Storage only objects under Ferry's
    /// prefix carry a purpose, so others never match.
    static func untrackedMatch(
        for file: DesiredFile, purpose: String, in unmanaged: [RemoteFile], taken: inout Set<String>
    ) -> RemoteFile? {
        guard !unmanaged.isEmpty else { return nil }
        let match = unmanaged.first { remote in
            !taken.contains(remote.id) && remote.filename == file.filename && remote.bytes == file.bytes
                && remote.purpose == purpose && remote.status.isUsable
        }
        if let match { taken.insert(match.id) }
        return match
    }

    /// SHA-256 over what the manifests ask for (names, sources' digests, purposes, filenames, targets, policies).
    public static func fingerprint(_ desired: DesiredState, digests: [String: String]) -> String {
        fingerprint(
            desired, fileDigests: desired.files.map { digests[$0.sourcePath] ?? "" },
            placements: desired.resolvedPlacements())
    }

    /// `fingerprint` with the placements already resolved (`DesiredState.resolvedPlacements()`).
    static func fingerprint(
        _ desired: DesiredState, fileDigests: [String], placements: [[(endpoint: Endpoint, models: [String])]]
    ) -> String {
        // Fed piece by piece (no joined strings, no arrays), gathered into blocks; the bytes are those of
        // [name, source, digest, purpose, filename, policy, targets].joined("\u{1}") + "\u{2}", then
        // endpoint + "=" + models.joined(",") + "\u{3}" per placement.
        var hasher = BufferedSHA256()
        let (fieldSeparator, fileEnd, placementEnd) = (UInt8(1), UInt8(2), UInt8(3))
        let (comma, equals) = (UInt8(ascii: ","), UInt8(ascii: "="))
        let files = desired.files
        // Fields read in place, by index: a copy of each file would retain and release all of its strings.
        for index in files.indices {
            hasher.update(files[index].name)
            hasher.update(byte: fieldSeparator)
            hasher.update(files[index].sourcePath)
            hasher.update(byte: fieldSeparator)
            hasher.update(fileDigests[index])
            hasher.update(byte: fieldSeparator)
            hasher.update(files[index].purpose)
            hasher.update(byte: fieldSeparator)
            hasher.update(files[index].filename)
            hasher.update(byte: fieldSeparator)
            hasher.update(files[index].deletionPolicy.rawValue)
            hasher.update(byte: fieldSeparator)
            for (position, model) in files[index].targetModels.enumerated() {
                if position > 0 { hasher.update(byte: comma) }
                hasher.update(model)
            }
            hasher.update(byte: fileEnd)
            for (endpoint, models) in placements[index] {
                hasher.update(endpoint.id)
                hasher.update(byte: equals)
                for (position, model) in models.enumerated() {
                    if position > 0 { hasher.update(byte: comma) }
                    hasher.update(model)
                }
                hasher.update(byte: placementEnd)
            }
        }
        // Vector stores (nothing is fed when none is declared, so plans without stores keep their fingerprint).
        for store in desired.vectorStores {
            hasher.update(byte: 4)
            for part in [
                store.name, store.displayName, store.targetModels.joined(separator: ","), store.files.joined(separator: ","),
                store.expiresAfterDays.map(String.init) ?? "", store.chunking.summary,
                store.metadata.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value }.joined(separator: ","),
            ] {
                hasher.update(part)
                hasher.update(byte: fieldSeparator)
            }
        }
        return hasher.hexDigest()
    }
}
