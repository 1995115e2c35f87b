import FerryCore
import FerryProviders
import FerryStore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Makes the client for one endpoint. The CLI passes the real factory; tests may pass fakes.
public typealias ProviderMaker = @Sendable (Endpoint, Secret?) throws -> any FileProvider

/// How the engine runs.
public struct EngineConfiguration: Sendable {
    /// Directory that bounds sources (`--root`); manifests may not name anything outside it.
    public var root: String
    /// Manifests directory, relative to `root` (`""` for the root itself).
    public var manifestsDirectory: String
    /// How to show the root in diagnostics (e.g. `manifests/`).
    public var displayRoot: String
    /// Where `os.environ/NAME` references are resolved.
    public var environment: [String: String]
    public var policy: PlanPolicy
    /// Uploads and deletes in flight per endpoint.
    public var concurrencyPerEndpoint: Int
    /// Test hook: a point at which the process kills itself with SIGKILL (`FERRY_CRASH_AT`).
    public var crashPoint: CrashPoint?
    /// The state was opened read-only (`plan --refresh=false`): nothing is written to it, not even the digest cache.
    public var readOnlyState = false
    /// The manifests' revision (git HEAD or `FERRY_REVISION`), recorded with each run; nil when unknown.
    public var revision: String?
    /// Per-placement backoff shared by the passes of one process (`reconcile --interval`); nil attempts every
    /// planned action every time (one-shot commands).
    public var backoff: PlacementBackoff?
    /// How long an apply awaits each vector store attachment.
    public var attachmentWait = AttachmentWait()
    /// Whether an apply (without a saved plan) and a reconcile leave sources whose every placement is a plain create
    /// unhashed, and compute their digests from the bytes their uploads send (`DigestDeferral`): one read per byte.
    public var hashDuringUpload = true
    /// How a provider that lists id ranges at once (Cloud Storage: pages of at most 1,000 objects, each asked for
    /// when the previous one arrived) is listed: in up to `count` ranges cut from its last listing, when each would
    /// have held at least `minimumFiles` files of it. A first listing is one chain.
    public var listingParts = (count: 4, minimumFiles: 2_000)

    public init(
        root: String, manifestsDirectory: String = "", displayRoot: String = "", environment: [String: String],
        policy: PlanPolicy = PlanPolicy(), concurrencyPerEndpoint: Int = 4, crashPoint: CrashPoint? = nil
    ) {
        self.root = root
        self.manifestsDirectory = manifestsDirectory
        self.displayRoot = displayRoot
        self.environment = environment
        self.policy = policy
        self.concurrencyPerEndpoint = concurrencyPerEndpoint
        self.crashPoint = crashPoint
    }
}

/// Points where a test can have the process die abruptly, to prove crash safety.
public enum CrashPoint: String, Sendable, CaseIterable {
    /// After a provider accepted an upload, before Ferry recorded it.
    case afterCreate = "after-create"
    /// After a provider deleted a file, before Ferry recorded it.
    case afterDelete = "after-delete"
}

/// Progress the engine reports while it works; the CLI prints it.
public enum EngineEvent: Sendable {
    case observed(Endpoint, files: Int, pages: Int)
    case observeFailed(Endpoint, message: String)
    case hashed(SourceDigester.Report)
    case actionStarted(PlannedAction)
    case actionSucceeded(PlannedAction, remoteID: String?)
    case actionFailed(PlannedAction, message: String)
    case round(Int)
    /// A provider action not attempted because its placement is waiting out its backoff.
    case actionDeferred(PlannedAction, PlacementRetry)
    /// Bytes of an upload's file handed to the HTTP client so far (all attempts of parts or chunks combined).
    case uploadProgress(PlannedAction, sent: Int64, total: Int64)
    /// A manifest warning (not an error: the pass goes on).
    case warning(Diagnostic)
}

/// Manifests loaded and sources hashed: the desired half of a plan's input.
public struct LoadedInputs: Sendable {
    public var desired: DesiredState
    public var secrets: [String: Secret]
    public var digests: [String: String]
    public var digestReport: SourceDigester.Report
    public var warnings: [Diagnostic]
    /// Sources left unhashed by a load that defers hashing: each plan hashes those it must compare
    /// (`Engine.completeDigests`), and uploads compute the others.
    public var unhashed: [String] = []
}

/// The result of observing every relevant endpoint.
public struct ObservationRound: Sendable {
    public var observations: [String: EndpointObservation]
    /// List requests (pages) sent.
    public var pages: Int
    /// Vector store listings of the endpoints that have (or had) Ferry's stores.
    public var vectorStores: [String: VectorStoreObservation] = [:]
}

/// What an apply did.
public struct ApplyReport: Sendable {
    public var applied: [PlannedAction] = []
    public var failed: [(action: PlannedAction, message: String)] = []
    /// Provider actions skipped because their placement is waiting out its backoff.
    public var deferred: [DeferredAction] = []
    /// What was done to vector stores.
    public var vectorStores = VectorStoreApplyReport()
    public var succeeded: Bool { failed.isEmpty && vectorStores.failed.isEmpty }
    /// Actions applied, file and vector store ones together.
    public var appliedCount: Int { applied.count + vectorStores.applied.count }
}

/// observe → plan → apply → verify. Owns no global state; each call reads the store afresh (level-based).
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    public let store: any StateStore
    let makeProvider: ProviderMaker
    let report: @Sendable (EngineEvent) -> Void
    /// The one source of time: records, leases and waits.
    public let clock: FerryClock
    let logger: Logger
    let tree: FileSystemSourceTree
    let providers = ProviderCache()
    let counters = EngineCounters()

    /// - Parameters:
    ///   - logger: where the engine logs what it does (each action at info with `ferry.placement` and
    ///     `ferry.endpoint` metadata, details at debug); the caller chooses the handler.
    ///   - clock: time for records, leases and waits (`.system` unless a test injects another).
    ///   - report: progress events for a user interface.
    public init(
        configuration: EngineConfiguration, store: any StateStore, makeProvider: @escaping ProviderMaker,
        logger: Logger = Logger(label: "ferry.engine"), clock: FerryClock = .system,
        report: @escaping @Sendable (EngineEvent) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.store = store
        self.makeProvider = makeProvider
        self.logger = logger
        self.clock = clock
        self.report = report
        self.tree = try FileSystemSourceTree(root: configuration.root)
    }

    var nowSeconds: Int64 { clock.nowSeconds() }

    // MARK: Load

    /// Reads and validates manifests without touching the state store or any provider, so a command can
    /// refuse bad input before it creates or changes anything.
    /// - Throws: `ValidationFailed` with every problem found.
    /// - Parameter offline: validate without credentials (unset variables are notes; see `ManifestLoader.offline`).
    public static func validate(_ configuration: EngineConfiguration, offline: Bool = false) throws -> LoadedManifests {
        // One walk of the manifest folder serves manifest discovery and every FileSet glob below it.
        let tree = try FileSystemSourceTree(root: configuration.root).walkingOnce()
        let sources = try tree.manifestFiles(under: configuration.manifestsDirectory)
        let loader = ManifestLoader(
            displayRoot: configuration.displayRoot, environment: configuration.environment, offline: offline)
        return try loader.load(sources, tree: tree)
    }

    /// Reads and validates manifests (unless `validated` already holds them, as `validate` returned them for
    /// this configuration moments ago), then hashes sources (cached by size, mtime and inode). Each warning is
    /// reported as an event.
    /// - Parameter deferHashing: take only cached digests; sources not cached are hashed when a plan needs them, or
    ///   by their uploads (`LoadedInputs.unhashed`).
    /// - Throws: `ValidationFailed` with every problem found; nothing has been changed.
    public func load(validated: LoadedManifests? = nil, deferHashing: Bool = false) async throws -> LoadedInputs {
        var inputs = try loadManifests(validated: validated)
        try await loadDigests(&inputs, deferHashing: deferHashing)
        return inputs
    }

    /// The manifests part of `load`: inputs with no digests yet (`loadDigests` adds them).
    func loadManifests(validated: LoadedManifests?) throws -> LoadedInputs {
        let start = ContinuousClock.now
        let loaded = try validated ?? Self.validate(configuration)
        counters.add("validate", since: start)
        for warning in loaded.warnings { report(.warning(warning)) }
        for file in loaded.skipped {
            logger.info("Skipped \(file.path): not a manifest (\(file.reason))", metadata: ["ferry.file": "\(file.path)"])
        }
        return LoadedInputs(
            desired: loaded.desired, secrets: loaded.secrets, digests: [:], digestReport: SourceDigester.Report(),
            warnings: loaded.warnings)
    }

    /// The digests part of `load`: sources hashed, or taken from the cache (size, mtime and inode unchanged).
    func loadDigests(_ inputs: inout LoadedInputs, deferHashing: Bool) async throws {
        let start = ContinuousClock.now
        let digester = SourceDigester(tree: tree, store: store, persist: !configuration.readOnlyState)
        let paths = inputs.desired.files.map(\.sourcePath)
        if deferHashing {
            (inputs.digests, inputs.unhashed, inputs.digestReport) = try digester.cachedDigests(for: paths)
        } else {
            (inputs.digests, inputs.digestReport) = try await digester.digests(for: paths)
        }
        counters.add("digests", since: start)
        counters.addDigests(inputs.digestReport)
        report(.hashed(inputs.digestReport))
    }

    // MARK: Observe

    func provider(for endpoint: Endpoint, inputs: LoadedInputs) throws -> any FileProvider {
        try providers.get(endpoint.id) { try makeProvider(endpoint, inputs.secrets[endpoint.id]) }
    }

    /// `observe` while the digests load into `inputs` (`loadDigests`): listing needs no digest, and is mostly
    /// waiting while loading them is mostly local work.
    func observe(loadingDigests inputs: inout LoadedInputs, deferHashing: Bool) async throws -> ObservationRound {
        let listed = inputs
        async let listing = observe(listed)
        try await loadDigests(&inputs, deferHashing: deferHashing)
        return try await listing
    }

    /// Lists every endpoint that has desired placements, owned files or open intents, concurrently,
    /// and stores each listing (unless `record` is false: a drift check changes nothing).
    public func observe(_ inputs: LoadedInputs, record: Bool = true) async throws -> ObservationRound {
        let start = ContinuousClock.now
        let endpoints = try relevantEndpoints(inputs)
        var observations: [String: EndpointObservation] = [:]
        var pages = 0
        var storeError: (any Error)?
        await withTaskGroup(of: (Endpoint, EndpointObservation, Int).self) { group in
            for endpoint in endpoints {
                group.addTask {
                    do {
                        let client = try self.provider(for: endpoint, inputs: inputs)
                        let listing = try await self.list(client, endpointID: endpoint.id)
                        return (
                            endpoint,
                            EndpointObservation(endpointID: endpoint.id, files: listing.files, observedAt: self.nowSeconds),
                            listing.pages
                        )
                    } catch {
                        return (
                            endpoint,
                            EndpointObservation(
                                endpointID: endpoint.id, files: nil, error: "\(error)", observedAt: self.nowSeconds), 0
                        )
                    }
                }
            }
            // Each listing is stored as soon as it arrives, while slower endpoints are still being listed.
            for await (endpoint, observation, count) in group {
                let storeStart = ContinuousClock.now
                do {
                    if record { try store.recordObservation(observation, endpoint: endpoint, pages: 0) }
                } catch {
                    storeError = storeError ?? error
                }
                counters.add("storeListings", since: storeStart)
                observations[endpoint.id] = observation
                pages += count
                if let files = observation.files {
                    logger.debug(
                        "listed endpoint",
                        metadata: [
                            "ferry.endpoint": .string(endpoint.id), "ferry.files": .stringConvertible(files.count),
                            "ferry.pages": .stringConvertible(count),
                        ])
                    report(.observed(endpoint, files: files.count, pages: count))
                } else {
                    logger.info(
                        "cannot list endpoint",
                        metadata: ["ferry.endpoint": .string(endpoint.id), "ferry.error": .string(observation.error ?? "")])
                    report(.observeFailed(endpoint, message: observation.error ?? ""))
                }
            }
        }
        counters.add("list", since: start)
        counters.addPages(pages)
        if let storeError { throw storeError }
        var round = ObservationRound(observations: observations, pages: pages)
        let storeEndpoints = try vectorStoreEndpoints(inputs)
        if !storeEndpoints.isEmpty {
            round.vectorStores = try await observeVectorStores(inputs, endpoints: storeEndpoints, record: record)
        }
        return round
    }

    /// Lists one endpoint, in ranges at once where the provider can and its last listing was large enough to cut
    /// (`EngineConfiguration.listingParts`; a first listing, or one the store cannot cut, is one chain).
    func list(_ client: any FileProvider, endpointID: String) async throws -> Listing {
        let parts = configuration.listingParts
        guard client.listsIDRanges,
            let cuts = try? store.listingCuts(
                endpointID: endpointID, parts: parts.count, minimumPerPart: parts.minimumFiles),
            !cuts.isEmpty
        else {
            return try await client.list()
        }
        return try await client.list(splitAt: cuts)
    }

    // MARK: Plan

    /// Computes the plan from loaded inputs and fresh observations, and stores it as the status snapshot.
    /// - Parameter scope: the names to plan for, instead of the configuration's (a saved plan's own scope).
    public func plan(
        _ inputs: LoadedInputs, _ round: ObservationRound, saveSnapshot: Bool = true, scope: PlanScope? = nil
    ) async throws -> Plan {
        var input = try planInput(inputs, round)
        try await completeDigests(&input, unhashed: inputs.unhashed)
        var start = ContinuousClock.now
        var policy = configuration.policy
        if let scope { policy.scope = scope }
        let plan = Planner.plan(input, policy: policy)
        counters.add("plan", since: start)
        start = .now
        if saveSnapshot {
            try store.saveSnapshot(desired: inputs.desired, digests: input.digests, plan: plan, at: clock.now())
            // Only where stores are declared or were seen: a workspace without any writes nothing more.
            if plan.vectorStores != nil || !round.vectorStores.isEmpty {
                try store.saveVectorStoreStatuses(plan.vectorStores ?? [], at: clock.now())
            }
        }
        counters.add("saveSnapshot", since: start)
        // The owned files (one record per placement) are freed on another thread while the pass goes on.
        Parallel.release(consume input)
        return plan
    }

    /// The planner's input: loaded inputs, fresh listings, and the owned files and intents read after them.
    func planInput(_ inputs: LoadedInputs, _ round: ObservationRound) throws -> PlanInput {
        // Read after the listings, owned files and intents together: an upload another process finished while the
        // providers were listed is then either owned or still claimed by its intent (`plan` runs without the lease).
        let (owned, intents) = try store.ownedFilesAndIntents(
            sharing: OwnedFile.SharedStrings(
                desired: inputs.desired, digests: inputs.digests,
                listings: round.observations.compactMapValues(\.files)))
        var input = PlanInput(
            desired: inputs.desired, digests: inputs.digests, observations: round.observations,
            owned: owned, intents: intents, now: nowSeconds)
        input.vectorStores = round.vectorStores
        return input
    }

    /// Requests sent by all clients made so far (for reporting converged-run costs).
    public func requestCount() -> Int { providers.requestTotals().total }

    /// What this engine has cost so far: requests by operation, list pages, source reads, seconds per phase.
    public func stats() -> RunStats {
        let (seconds, pages, digests) = counters.snapshot()
        return RunStats(requests: providers.requestTotals(), listPages: pages, digests: digests, seconds: seconds)
    }

    /// Adds the requests made since the last call to the store's totals (read by `/metrics`).
    public func recordRequestStats() {
        try? store.addRequestStats(providers.takeStatsDelta())
    }
}

/// One client per endpoint for the life of an engine, so connection pools and statistics are shared.
final class ProviderCache: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [String: any FileProvider] = [:]
    private var flushed: [String: [ProviderOperation: RequestStats.OperationStats]] = [:]

    /// Request counts since the previous call, per endpoint and operation.
    func takeStatsDelta() -> [RequestStatsRow] {
        lock.withLock {
            var rows: [RequestStatsRow] = []
            for (id, client) in clients {
                guard let stats = (client as? any ProviderStatsReporting)?.stats.snapshot() else { continue }
                let previous = flushed[id] ?? [:]
                for (operation, now) in stats {
                    let before = previous[operation] ?? RequestStats.OperationStats()
                    guard now.requests != before.requests else { continue }
                    let latency = now.totalLatency - before.totalLatency
                    rows.append(
                        RequestStatsRow(
                            endpointID: id, operation: operation.rawValue, requests: now.requests - before.requests,
                            failures: now.failures - before.failures, retries: now.retries - before.retries,
                            latencySeconds: Double(latency.components.seconds)
                                + Double(latency.components.attoseconds) / 1e18))
                }
                flushed[id] = stats
            }
            return rows.sorted { ($0.endpointID, $0.operation) < ($1.endpointID, $1.operation) }
        }
    }

    func get(_ id: String, make: () throws -> any FileProvider) throws -> any FileProvider {
        try lock.withLock {
            if let client = clients[id] { return client }
            let client = try make()
            clients[id] = client
            return client
        }
    }

    /// Requests, failures and retries of every client made so far, by operation.
    func requestTotals() -> RunStats.Requests {
        lock.withLock {
            var totals = RunStats.Requests()
            for client in clients.values {
                guard let stats = (client as? any ProviderStatsReporting)?.stats.snapshot() else { continue }
                for (operation, counts) in stats where counts.requests > 0 {
                    totals.total += counts.requests
                    totals.byOperation[operation.rawValue, default: 0] += counts.requests
                    totals.failures += counts.failures
                    totals.retries += counts.retries
                }
            }
            return totals
        }
    }

}
