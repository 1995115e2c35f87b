import FerryCore
import FerryStore
import Foundation
import Hummingbird
import Logging
import NIOPosix

/// Builds the status server's router: every route of the read-only view behind `StatusGuard`.
/// Tests and embedders (`reconcile --listen`) can serve it with any Hummingbird `Application`.
/// - Parameters:
///   - store: the state database; only read.
///   - configuration: token, limits and dashboard sizes (host and port are not used here).
public func makeStatusRouter(
    store: StateStore, configuration: StatusServerConfiguration, logger: Logger = Logger(label: "ferry.status")
) -> Router<StatusRequestContext> {
    makeStatusRouter(store: store, configuration: configuration, state: ServerState(), logger: logger)
}

func makeStatusRouter(
    store: StateStore, configuration: StatusServerConfiguration, state: ServerState, logger: Logger
) -> Router<StatusRequestContext> {
    let router = Router(context: StatusRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: StatusGuard(configuration: configuration, state: state, logger: logger))
    let view = StatusView(store: store, configuration: configuration)

    router.get("/") { request, _ in try await view.cached(request) { try await view.dashboard() } }
    router.get("/healthz") { _, _ in Response.json(.object([("status", .string("ok"))])) }
    router.get("/readyz") { _, _ in try await view.readiness() }
    router.get("/metrics") { request, _ in try await view.cached(request) { try await view.metrics() } }

    router.get("/api/v1/summary") { request, _ in try await view.cached(request) { try await view.summary() } }
    router.get("/api/v1/files") { request, _ in try await view.cached(request) { try await view.filesAPI() } }
    router.get("/api/v1/placements") { request, _ in
        try await view.cached(request) { try await view.placementsAPI() }
    }
    router.get("/api/v1/endpoints") { request, _ in
        try await view.cached(request) { try await view.endpointsAPI() }
    }
    router.get("/api/v1/runs") { request, _ in
        try await view.cached(request) { try await view.runsAPI(request.uri.queryParameters) }
    }
    router.get("/api/v1/plan") { request, _ in try await view.cached(request) { try await view.planAPI() } }

    router.get("/v1/files") { request, _ in
        try await view.cached(request) { try await view.listFiles(request.uri.queryParameters) }
    }
    router.get("/v1/files/:id") { request, context in
        let id = context.parameters.get("id") ?? ""
        return try await view.cached(request) { try await view.retrieveFile(id) }
    }
    return router
}

/// The handlers' shared state: the store, the configuration, the redactor and the response cache.
struct StatusView: Sendable {
    let store: StateStore
    let configuration: StatusServerConfiguration
    let redact: Redactor
    let cache: ResponseCache

    init(store: StateStore, configuration: StatusServerConfiguration) {
        self.store = store
        self.configuration = configuration
        self.redact = Redactor(secrets: configuration.bearerToken.map { [$0] } ?? [])
        self.cache = ResponseCache(ttl: configuration.cacheTTL)
    }

    /// The answer of a data route, from the cache while the database is unchanged (see `ResponseCache`).
    func cached(_ request: Request, _ produce: @escaping @Sendable () async throws -> Payload) async throws -> Response
    {
        // The stamp is taken before reading, so an answer read after a commit is stored under the older stamp
        // and simply recomputed next time.
        guard cache.isEnabled, let stamp = DatabaseStamp(path: store.path) else { return try await produce().response }
        let key = request.uri.path + "?" + (request.uri.query ?? "")
        return try await cache.answer(key, stamp: stamp, produce: produce).response
    }

    /// Runs blocking database reads off the cooperative pool, so a large read never stalls other tasks in the
    /// process (the reconcile loop shares it in `reconcile --listen`).
    func read<T: Sendable>(_ body: @escaping @Sendable (StateStore) throws -> T) async throws -> T {
        let store = self.store
        return try await NIOThreadPool.singleton.runIfActive { try body(store) }
    }

    var now: Double { configuration.now().timeIntervalSince1970 }

    // MARK: Health

    func readiness() async throws -> Response {
        let last = try? await read { try $0.lastSuccessfulObservation() }
        if let last = last ?? nil {
            return .json(.object([("status", .string("ready")), ("lastSuccessfulObservation", .int(last))]))
        }
        return .json(
            .object([
                ("status", .string("not ready")),
                ("reason", .string("no endpoint has been listed successfully yet")),
            ]), status: .serviceUnavailable)
    }

    // MARK: JSON API

    func summary() async throws -> Payload {
        let (counts, files, endpoints, totals, snapshotAt) = try await read { store in
            (
                try store.placementStateCounts(), try store.desiredFileCount(), try store.endpointRecords(),
                try store.runTotals(), try store.snapshotUpdatedAt()
            )
        }
        let lastObservation = endpoints.compactMap(\.lastSuccessAt).max()
        return .json(
            .object([
                ("ready", .bool(lastObservation != nil)),
                ("lastSuccessfulObservation", .int(lastObservation)),
                ("snapshotAt", .double(snapshotAt)),
                ("files", .int(files)),
                ("endpoints", .int(endpoints.count)),
                ("placements", .object(Self.states.map { ($0, .int(counts[$0] ?? 0)) })),
                ("lastConvergedAt", .double(totals.lastConvergedAt)),
            ]))
    }

    /// Display states in the order they are reported.
    static let states = ["in-sync", "out-of-sync", "failed", "processing", "unknown"]

    func filesAPI() async throws -> Payload {
        let (files, placements, owned, snapshotAt) = try await read { store in
            (
                try store.desiredFileStatuses(), try store.placementRecords(attentionFirst: false),
                try store.ownedFiles(),
                try store.snapshotUpdatedAt()
            )
        }
        let placementsByFile = Dictionary(grouping: placements, by: \.status.file)
        let ownedByFile = Dictionary(grouping: owned, by: \.file)
        let items: [JSONValue] = files.map { status in
            let file = status.file
            let (fileStatus, details) = UnifiedFile.status(status)
            let providerFiles = UnifiedFile.providerFiles(
                targetModels: file.targetModels, placements: placementsByFile[file.name] ?? [],
                owned: ownedByFile[file.name] ?? [])
            return .object([
                ("name", .string(file.name)),
                ("unifiedID", .string(file.unifiedID)),
                ("sourcePath", .string(file.sourcePath)),
                ("filename", .string(file.filename)),
                ("purpose", .string(file.purpose)),
                ("bytes", .int(file.bytes)),
                ("digest", .string(file.digest)),
                ("targetModels", .strings(file.targetModels)),
                ("labels", .object(file.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("deletionPolicy", .string(file.deletionPolicy)),
                ("declaredBy", .string(file.declaredBy)),
                ("status", .string(fileStatus)),
                ("statusDetails", .string(details)),
                ("providerFiles", .object(providerFiles.map { ($0.model, .string($0.remoteID)) })),
            ])
        }
        return .json(.object([("snapshotAt", .double(snapshotAt)), ("files", .array(items))]))
    }

    func placementsAPI() async throws -> Payload {
        let placements = try await read { try $0.placementRecords(attentionFirst: false) }
        return .json(.object([("placements", .array(placements.map(placementJSON)))]))
    }

    func placementJSON(_ record: PlacementRecord) -> JSONValue {
        let status = record.status
        var lastError = JSONValue.null
        if let error = record.error {
            lastError = .object([
                ("action", .string(error.action)), ("message", .string(redact.redact(error.message))),
                ("at", .int(error.at)), ("attempts", .int(error.attempts)),
            ])
        }
        return .object([
            ("file", .string(status.file)),
            ("unifiedID", .string(status.unifiedID)),
            ("endpointID", .string(status.endpointID)),
            ("models", .strings(status.models)),
            ("state", .string(status.state.rawValue)),
            ("displayState", .string(record.displayState)),
            ("remoteID", .string(status.remoteID)),
            ("pendingAction", .string(status.pendingAction?.rawValue)),
            ("detail", .string(redact(status.detail))),
            ("lastError", lastError),
        ])
    }

    func endpointsAPI() async throws -> Payload {
        let endpoints = try await read { try $0.endpointRecords() }
        return .json(
            .object([
                (
                    "endpoints",
                    .array(
                        endpoints.map { endpoint in
                            .object([
                                ("endpointID", .string(endpoint.id)),
                                ("kind", .string(endpoint.kind)),
                                ("displayName", .string(endpoint.displayName)),
                                ("baseURL", .string(endpoint.baseURL)),
                                ("listed", .int(endpoint.listed)),
                                ("owned", .int(endpoint.owned)),
                                ("unmanaged", .int(endpoint.unmanaged)),
                                ("pages", .int(endpoint.pages)),
                                ("observedAt", .int(endpoint.observedAt)),
                                ("lastSuccessAt", .int(endpoint.lastSuccessAt)),
                                ("error", .string(redact(endpoint.error))),
                            ])
                        })
                )
            ]))
    }

    func runsAPI(_ query: Parameters) async throws -> Payload {
        var limit = 20
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.badRequest("limit must be an integer from 1 to 1000 (got '\(text)').", param: "limit")
            }
            limit = value
        }
        let count = limit
        let runs = try await read { try $0.recentRuns(limit: count) }
        return .json(.object([("runs", .array(runs.map(runJSON)))]))
    }

    func runJSON(_ run: RunRecord) -> JSONValue {
        .object([
            ("id", .int(run.id)),
            ("command", .string(run.command)),
            ("startedAt", .double(run.startedAt)),
            ("finishedAt", .double(run.finishedAt)),
            ("durationSeconds", .double(run.finishedAt.map { $0 - run.startedAt })),
            ("outcome", .string(run.outcome)),
            ("summary", .string(redact(run.summary))),
            ("applied", .int(run.applied)),
            ("failed", .int(run.failed)),
            ("requests", .int(run.requests)),
        ])
    }

    func planAPI() async throws -> Payload {
        let redact = self.redact
        let stored = try await read { store -> String? in
            if var (plan, _) = try store.latestPlan() {
                plan.warnings = plan.warnings.map(redact.redact)
                plan.blocked = plan.blocked.map(redact.redact)
                for index in plan.endpoints.indices {
                    plan.endpoints[index].error = redact(plan.endpoints[index].error)
                }
                for index in plan.placements.indices {
                    plan.placements[index].detail = redact(plan.placements[index].detail)
                }
                return try plan.renderJSON()
            }
            // A plan this version cannot decode is still served, with its free text redacted.
            return try store.latestPlanJSON().map { redact.redact($0.json) }
        }
        guard let stored else {
            throw APIError.notFound(
                "No plan has been stored yet: run 'ferry plan', 'ferry apply' or 'ferry reconcile' first.")
        }
        return .text(stored.hasSuffix("\n") ? stored : stored + "\n", contentType: "application/json")
    }
}
