import FerryCore

/// Where Ferry keeps its state: listings, owned files, write-ahead intents, the digest cache, runs, the writer lease
/// and the status snapshot. Every method is synchronous and each write runs in one transaction.
///
/// Two implementations: `SQLiteStateStore` (one file, the default) and `PostgresStateStore` (a shared database,
/// partitioned by workspace). Open one with `StateStores.open(_:workspace:readOnly:)`.
public protocol StateStore: AnyObject, Sendable {
    /// Where the state lives, safe to show: a file path, or a PostgreSQL URL with its password replaced by `***`.
    var location: String { get }
    /// The workspace this store reads and writes.
    var workspace: String { get }
    /// The database file when the state is a local file (the status view's cache stamps it); nil otherwise.
    var filePath: String? { get }

    /// Identifiers of applied migrations, sorted, for diagnostics and tests.
    func appliedMigrations() throws -> [String]
    /// A consistency check of the underlying database; "ok" when healthy.
    func integrityCheck() throws -> String

    // MARK: Digest cache

    /// Cached digests by path, with the stamp they were computed for.
    func cachedDigests() throws -> [String: (FileStamp, String)]
    /// The cached digests of `paths` only, keyed by the strings of `paths` themselves (a pass then holds each path
    /// once).
    func cachedDigests(for paths: Set<String>) throws -> [String: (FileStamp, String)]
    /// Stores freshly computed digests.
    func storeDigests(_ digests: [String: (FileStamp, String)]) throws

    // MARK: Lease

    /// Takes the named lease if it is free, expired, or already ours. Returns nil on success, or the current holder.
    /// Two callers can never both succeed.
    /// - Parameter isAbandoned: says whether a live-looking holder is known to be gone (e.g. a dead process on
    ///   this host), so its lease can be taken before it expires.
    func acquireLease(
        _ name: String, holder: String, ttl: Double, now: Double, isAbandoned: (LeaseHolder) -> Bool
    ) throws -> LeaseHolder?
    /// Extends our lease; returns false if it was lost (expired and taken by someone else).
    func renewLease(_ name: String, holder: String, ttl: Double, now: Double) throws -> Bool
    /// Frees our lease (nothing happens when another holder has it).
    func releaseLease(_ name: String, holder: String) throws
    /// The current holder of the named lease, expired or not; nil when nobody holds it.
    func leaseHolder(_ name: String) throws -> LeaseHolder?
    /// Removes the named lease whoever holds it (`ferry state unlock`). Returns the holder that was removed.
    func forceReleaseLease(_ name: String) throws -> LeaseHolder?

    // MARK: Listings

    /// Replaces an endpoint's stored listing with a fresh one (or records why listing failed, keeping the old rows).
    func recordObservation(_ observation: EndpointObservation, endpoint: Endpoint, pages: Int) throws
    /// The latest successful listing of each endpoint.
    func observations() throws -> [String: EndpointObservation]
    /// Ids of an endpoint's latest listing that cut it, in byte order of ids, into `parts` parts of about equal size,
    /// fewer when parts would hold under `minimumPerPart` ids; empty when the listing is smaller than two such parts.
    /// A provider that lists id ranges at once splits its next listing there.
    func listingCuts(endpointID: String, parts: Int, minimumPerPart: Int) throws -> [String]

    // MARK: Owned files and intents

    /// Re-keys the owned file `remoteID` on `endpointID` from its old declared name to `newName` (a rename without a
    /// new upload), and remembers the old unified id so it can be answered with where the file went.
    func moveOwned(endpointID: String, remoteID: String, to newName: String, unifiedID newUnifiedID: String, at now: Int64)
        throws
    /// Where a retired unified id went; nil when it was never moved.
    func movedFile(unifiedID: String) throws -> MovedFile?
    /// Records a declaration's deletion policy on its owned files on one endpoint (protect, unprotect, retain).
    func setDeletionPolicy(endpointID: String, file: String, policy: DeletionPolicy) throws

    /// Every owned file.
    func ownedFiles() throws -> [OwnedFile]
    /// Owned files and open intents read in one transaction, so an upload recorded by another process between two
    /// reads cannot be missing from both. Each owned file is handed to `sharing`, when given, as it is read.
    func ownedFilesAndIntents(sharing: OwnedFile.SharedStrings?) throws -> (owned: [OwnedFile], intents: [CreateIntent])
    /// Open write-ahead intents.
    func intents() throws -> [CreateIntent]
    /// Records, durably, that an upload is about to be sent. Returns the intent's id.
    func beginCreate(
        endpointID: String, file: String, digest: String, bytes: Int64, filename: String, purpose: String,
        deletionPolicy: DeletionPolicy, startedAt: Int64
    ) throws -> Int64
    /// Records an upload's answer: the file becomes owned and its intent is closed, in one transaction.
    func recordOwned(_ owned: OwnedFile, closingIntent intentID: Int64?, at now: Int64) throws
    /// Closes an intent whose upload certainly did not happen (a terminal refusal) or never appeared.
    func closeIntent(_ id: Int64) throws
    /// Forgets an owned file: deleted by Ferry, gone from the provider, or released.
    func removeOwned(endpointID: String, remoteID: String) throws
    /// Updates the stored deletion policy of owned files to what the manifests now say.
    func refreshPolicies(_ desired: DesiredState) throws
    /// Endpoints on which Ferry owns at least one file.
    func ownedEndpointIDs() throws -> Set<String>

    // MARK: Placement errors

    /// Records the last failure of a placement (counting attempts).
    func recordPlacementError(file: String, endpointID: String, action: String, message: String, at: Int64) throws
    /// Forgets the last failure of a placement.
    func clearPlacementError(file: String, endpointID: String) throws
    /// Every recorded placement failure, sorted by file and endpoint.
    func placementErrors() throws -> [PlacementError]

    // MARK: Request statistics

    /// Adds a run's request counts to the totals.
    func addRequestStats(_ rows: [RequestStatsRow]) throws
    /// The accumulated request counts, sorted by endpoint and operation.
    func requestStats() throws -> [RequestStatsRow]

    // MARK: Runs

    /// Records the start of a run; returns its id.
    /// - Parameter revision: the manifests' revision the run works from, when known.
    func startRun(command: String, revision: String?, at now: Double) throws -> Int64
    /// Records how a run ended, and keeps history bounded.
    func finishRun(
        _ id: Int64, outcome: String, summary: String, applied: Int, failed: Int, requests: Int, at now: Double
    ) throws
    /// Records one event of a run.
    func recordEvent(
        run: Int64, level: String, file: String?, endpointID: String?, action: String?, message: String, at now: Double
    ) throws
    /// The latest runs, newest first.
    func recentRuns(limit: Int) throws -> [RunRecord]

    // MARK: Status snapshot

    /// Stores the desired files and placement statuses of the latest plan, for readers such as `ferry serve`,
    /// stamped `now` (unix seconds, from the caller's clock).
    func saveSnapshot(desired: DesiredState, digests: [String: String], plan: Plan, at now: Double) throws
    /// The latest plan, as stored by `saveSnapshot`.
    func latestPlan() throws -> (plan: Plan, at: Double)?
    /// Stores one endpoint's vector store listing, replacing the previous one (kept as a snapshot row per endpoint).
    func recordVectorStores(_ observation: VectorStoreObservation) throws
    /// The latest vector store listing of each endpoint that was listed.
    func vectorStoreObservations() throws -> [String: VectorStoreObservation]
    /// Stores where each vector store stands (the latest plan's), for the status view.
    func saveVectorStoreStatuses(_ statuses: [VectorStoreStatus], at now: Double) throws
    /// Where each vector store stood at the latest plan that had stores; empty when none.
    func vectorStoreStatuses() throws -> [VectorStoreStatus]
    /// Placement statuses from the latest snapshot.
    func placementStatuses() throws -> [PlacementStatus]

    // MARK: Status view queries (read-only)

    /// Declared files of the latest snapshot, sorted by name.
    func desiredFiles() throws -> [DesiredFileRecord]
    /// How many files the latest snapshot declares.
    func desiredFileCount() throws -> Int
    /// Declared files with a roll-up of their placements, sorted by name.
    func desiredFileStatuses() throws -> [DesiredFileStatus]
    /// One declared file by unified id, with its roll-up; nil when no declared file has that id.
    func desiredFileStatus(unifiedID: String) throws -> DesiredFileStatus?
    /// One page of declared files in creation order, for OpenAI-style listing (see `SQLiteStateStore`).
    func desiredFilePage(
        ascending: Bool, after: String?, purpose: String?, limit: Int
    ) throws -> (files: [ListedFile], hasMore: Bool)?
    /// Placements of the latest snapshot with their last failures; `after` (with `attentionFirst` false) starts after
    /// that placement in (file, endpoint) order, read from the table's key.
    func placementRecords(file: String?, attentionFirst: Bool, limit: Int?, after: PlacementKey?) throws
        -> [PlacementRecord]
    /// Placements per display state (`in-sync`, `out-of-sync`, `failed`, `processing`, `unknown`).
    func placementStateCounts() throws -> [String: Int]
    /// Every endpoint ever observed, sorted by id, with owned and unmanaged counts.
    func endpointRecords() throws -> [EndpointRecord]
    /// Unix seconds of the latest successful listing of any endpoint; nil when none ever succeeded.
    func lastSuccessfulObservation() throws -> Int64?
    /// Applied and failed actions over the recorded runs, and when a run last converged.
    func runTotals() throws -> RunTotals
    /// When the latest snapshot was stored, in unix seconds; nil before the first.
    func snapshotUpdatedAt() throws -> Double?
    /// The latest plan exactly as stored (sorted-key JSON), and when; nil before the first snapshot.
    func latestPlanJSON() throws -> (json: String, at: Double)?
    /// Owned remote files of one desired file, newest first.
    func ownedFiles(file: String) throws -> [OwnedFile]
}

extension StateStore {
    /// Takes the writer lease (see `acquireLease(_:holder:ttl:now:isAbandoned:)`).
    public func acquireLease(
        holder: String, ttl: Double, now: Double, isAbandoned: (LeaseHolder) -> Bool = { _ in false }
    ) throws -> LeaseHolder? {
        try acquireLease("writer", holder: holder, ttl: ttl, now: now, isAbandoned: isAbandoned)
    }

    /// Extends the writer lease.
    public func renewLease(holder: String, ttl: Double, now: Double) throws -> Bool {
        try renewLease("writer", holder: holder, ttl: ttl, now: now)
    }

    /// Frees the writer lease if we hold it.
    public func releaseLease(holder: String) throws { try releaseLease("writer", holder: holder) }

    /// The writer lease's holder.
    public func leaseHolder() throws -> LeaseHolder? { try leaseHolder("writer") }

    /// Removes the writer lease whoever holds it.
    public func forceReleaseLease() throws -> LeaseHolder? { try forceReleaseLease("writer") }

    /// Starts a run with no known revision.
    public func startRun(command: String, at now: Double) throws -> Int64 {
        try startRun(command: command, revision: nil, at: now)
    }

    /// The latest 20 runs, newest first.
    public func recentRuns() throws -> [RunRecord] { try recentRuns(limit: 20) }

    /// Placements of the latest snapshot with their last failures.
    public func placementRecords(file: String?, attentionFirst: Bool, limit: Int?) throws -> [PlacementRecord] {
        try placementRecords(file: file, attentionFirst: attentionFirst, limit: limit, after: nil)
    }

    /// Every placement record, sorted by file and endpoint, or with the ones needing attention first.
    public func placementRecords(attentionFirst: Bool = false, limit: Int? = nil) throws -> [PlacementRecord] {
        try placementRecords(file: nil, attentionFirst: attentionFirst, limit: limit)
    }

    /// The placement records of one declared file, sorted by endpoint.
    public func placementRecords(file: String) throws -> [PlacementRecord] {
        try placementRecords(file: file, attentionFirst: false, limit: nil)
    }
}

extension StateStore {
    public func cachedDigests(for paths: Set<String>) throws -> [String: (FileStamp, String)] {
        var result: [String: (FileStamp, String)] = [:]
        for (path, entry) in try cachedDigests() {
            if let index = paths.firstIndex(of: path) { result[paths[index]] = entry }
        }
        return result
    }

    /// Owned files and open intents read in one transaction, with their own strings.
    public func ownedFilesAndIntents() throws -> (owned: [OwnedFile], intents: [CreateIntent]) {
        try ownedFilesAndIntents(sharing: nil)
    }
}
