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
    store: any StateStore, configuration: StatusServerConfiguration, logger: Logger = Logger(label: "ferry.status")
) -> Router<StatusRequestContext> {
    makeStatusRouter(store: store, configuration: configuration, requests: InFlightRequests(), logger: logger)
}

func makeStatusRouter(
    store: any StateStore, configuration: StatusServerConfiguration, requests: InFlightRequests, logger: Logger
) -> Router<StatusRequestContext> {
    let router = Router(context: StatusRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: StatusGuard(configuration: configuration, requests: requests, logger: logger))
    let view = StatusView(store: store, configuration: configuration)

    router.get("/") { request, _ in try await view.cached(request) { try await view.dashboard() } }
    router.get("/healthz") { _, _ in Response.json(.object([("status", .string("ok"))])) }
    router.get("/readyz") { _, _ in try await view.readiness() }
    router.get("/metrics") { request, _ in try await view.cached(request) { try await view.metrics() } }

    router.get("/api/v1/summary") { request, _ in try await view.cached(request) { try await view.summary() } }
    router.get("/api/v1/files") { request, _ in try await view.cached(request) { try await view.filesAPI() } }
    router.get("/api/v1/placements") { request, _ in
        try await view.cached(request) { try await view.placementsAPI(request.uri.queryParameters) }
    }
    router.get("/api/v1/endpoints") { request, _ in
        try await view.cached(request) { try await view.endpointsAPI() }
    }
    router.get("/api/v1/runs") { request, _ in
        try await view.cached(request) { try await view.runsAPI(request.uri.queryParameters) }
    }
    router.get("/api/v1/plan") { request, _ in try await view.cached(request) { try await view.planAPI() } }
    router.get("/api/v1/vector-stores") { request, _ in
        try await view.cached(request) { try await view.vectorStoresAPI() }
    }
    router.get("/api/v1/resolve/:id") { request, context in
        let id = context.parameters.get("id") ?? ""
        return try await view.cached(request) { try await view.resolve(id, request.uri.queryParameters) }
    }

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
    let store: any StateStore
    let configuration: StatusServerConfiguration
    let redact: Redactor
    let cache: ResponseCache
    let resolutions = ResolutionCache()

    init(store: any StateStore, configuration: StatusServerConfiguration) {
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
        guard cache.isEnabled, let stamp = store.filePath.flatMap(DatabaseStamp.init(path:)) else {
            return try await produce().response
        }
        let key = request.uri.path + "?" + (request.uri.query ?? "")
        return try await cache.answer(key, stamp: stamp, produce: produce).response
    }

    /// Runs blocking database reads off the cooperative pool, so a large read never stalls other tasks in the
    /// process (the reconcile loop shares it in `reconcile --listen`).
    func read<T: Sendable>(_ body: @escaping @Sendable (any StateStore) throws -> T) async throws -> T {
        let store = self.store
        return try await NIOThreadPool.singleton.runIfActive { try body(store) }
    }

    // MARK: Health

    func readiness() async throws -> Response {
        let last = try? await read { try $0.lastSuccessfulObservation() }
        let lease = try? await read { try $0.leaseHolder() }
        // Which run holds the writer lease now, and whether it is this process (a replica of
        // `reconcile --interval --listen` in the middle of a pass); replicas between passes hold none.
        var writer: JSONValue = .null
        if let holder = lease ?? nil {
            let thisProcess =
                holder.pid == ProcessInfo.processInfo.processIdentifier
                && holder.host == ProcessInfo.processInfo.hostName.replacingOccurrences(of: " ", with: "-")
            writer = .object([
                ("holder", .string(holder.holder)), ("since", .int(Int64(holder.acquiredAt))),
                ("expiresAt", .int(Int64(holder.expiresAt))), ("thisProcess", .bool(thisProcess)),
            ])
        }
        if let last = last ?? nil {
            return .json(
                .object([
                    ("status", .string("ready")), ("lastSuccessfulObservation", .int(last)), ("writer", writer),
                ]))
        }
        return .json(
            .object([
                ("status", .string("not ready")),
                ("reason", .string("no endpoint has been listed successfully yet")), ("writer", writer),
            ]), status: .serviceUnavailable)
    }
}
