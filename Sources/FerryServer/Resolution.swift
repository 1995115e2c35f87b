import FerryCore
import FerryStore
import Foundation
import Hummingbird
import Synchronization

/// What a gateway asks `GET /api/v1/resolve/{unified_id}`: which provider file serves this unified id on the
/// endpoint a deployment sends to. The endpoint is named the way LiteLLM's deployment parameters name it.
struct ResolutionQuery: Equatable, Sendable {
    var unifiedID: String
    /// LiteLLM's provider name (`openai`, `azure`, `vertex_ai`, …), as given.
    var provider: String
    var kind: ProviderKind
    /// The deployment's `api_base`; nil when the deployment has none (the provider's default base then:
    /// `https://api.openai.com/v1`, `https://api.anthropic.com`).
    var apiBase: String?
    /// Vertex AI: the deployment's `gcs_bucket_name`.
    var bucket: String?
    /// The model group (`model_name`) the request was routed through; narrows the answer when several endpoints
    /// match the provider and base URL.
    var model: String?

    /// - Throws: `APIError` (400) naming the parameter that is missing or unsupported.
    init(unifiedID: String, _ parameters: Parameters) throws {
        func value(_ name: String) -> String? {
            guard var text = parameters.get(name) else { return nil }
            while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
            while let last = text.last, last == " " || last == "\t" { text.removeLast() }
            return text.isEmpty ? nil : String(text)
        }
        self.unifiedID = unifiedID
        func invalid(_ message: String, param: String) -> APIError {
            var error = APIError.badRequest(message, param: param)
            error.code = "invalid_parameter"
            return error
        }
        guard let provider = value("provider") else {
            throw invalid(
                "Missing 'provider': the deployment's LiteLLM provider (openai, azure, vertex_ai, …).",
                param: "provider")
        }
        guard let kind = ProviderKind.byLiteLLMProvider[provider] else {
            var error = APIError.badRequest(
                "Ferry manages no files on provider '\(provider)'; it places files on "
                    + ProviderKind.byLiteLLMProvider.keys.sorted().joined(separator: ", ") + ".",
                param: "provider")
            error.code = "unsupported_provider"
            throw error
        }
        self.provider = provider
        self.kind = kind
        apiBase = value("api_base")
        bucket = value("bucket")
        model = value("model")
        if kind == .azure && apiBase == nil {
            throw invalid(
                "Missing 'api_base': an Azure deployment's resource URL (https://<resource>.openai.azure.com).",
                param: "api_base")
        }
        if let apiBase, !(apiBase.lowercased().hasPrefix("http://") || apiBase.lowercased().hasPrefix("https://")) {
            throw invalid("Invalid 'api_base': '\(apiBase)' is not an http(s) URL.", param: "api_base")
        }
    }
}

/// Where an endpoint keeps files, without its credential: what a deployment's parameters can be matched with.
struct EndpointLocation: Hashable, Sendable {
    var endpointID: String
    var kind: ProviderKind
    /// `ResolutionIndex.comparableBase` of the base URL.
    var base: String
    var bucket: String?
    var displayName: String

    /// The base URL exactly as the endpoint id has it (a deployment configured from the same model list sends
    /// this very string, so most queries match without normalising).
    var rawBase: String

    init?(endpointID: String) {
        guard let (kind, baseURL, bucket) = Endpoint.location(ofID: endpointID) else { return nil }
        self.endpointID = endpointID
        self.kind = kind
        self.rawBase = baseURL
        self.base = ResolutionIndex.comparableBase(baseURL, kind: kind)
        self.bucket = bucket
        self.displayName = bucket.map { "\(kind.rawValue) gs://\($0)" } ?? "\(kind.rawValue) \(baseURL)"
    }
}

/// The answer to one `ResolutionQuery`: the provider file id, or why there is none.
enum Resolution: Equatable, Sendable {
    case found(file: String, remoteID: String, endpoint: EndpointLocation, models: [String])
    /// `status` is 404 or 409 (400 for a bad query); `code` is machine-readable.
    case refused(status: Int, code: String, message: String, staleRemoteID: String? = nil)

    var payload: Payload {
        switch self {
        case .found: preconditionFailure("found answers are rendered by StatusView.resolve")
        case .refused(let status, let code, let message, let stale):
            var fields: [(String, JSONValue)] = [
                (
                    "error",
                    .object([
                        ("message", .string(message)), ("type", .string("invalid_request_error")),
                        ("param", .string("id")), ("code", .string(code)),
                    ])
                )
            ]
            if let stale { fields.append(("stale_file_id", .string(stale))) }
            return .json(.object(fields), status: HTTPResponse.Status(code: status))
        }
    }
}

/// Everything `resolve` needs from one snapshot, held in memory so an answer costs a few dictionary lookups:
/// declared files by unified id, their placements, and the endpoints Ferry knows. Built once per snapshot.
struct ResolutionIndex: Sendable {
    struct Placement: Sendable {
        var status: PlacementStatus
        var location: EndpointLocation
    }

    /// When the snapshot the index was built from was saved (`StateStore.snapshotUpdatedAt`).
    let snapshotAt: Double?
    private let files: [String: DesiredFileRecord]
    private let placements: [String: [Placement]]
    private let endpoints: [EndpointLocation]
    /// Endpoints by kind and base URL as spelled in their ids (`rawBase`), for the common exact match.
    private let exactBases: [String: [EndpointLocation]]

    /// - Parameters:
    ///   - endpointIDs: every endpoint Ferry knows besides those placements name (observed ones).
    init(files: [DesiredFileRecord], placements: [PlacementStatus], endpointIDs: [String], snapshotAt: Double?) {
        self.snapshotAt = snapshotAt
        var byID: [String: DesiredFileRecord] = [:]
        byID.reserveCapacity(files.count)
        for file in files { byID[file.unifiedID] = file }
        self.files = byID
        var locations: [String: EndpointLocation] = [:]
        for id in endpointIDs where locations[id] == nil { locations[id] = EndpointLocation(endpointID: id) }
        var byFile: [String: [Placement]] = [:]
        byFile.reserveCapacity(files.count)
        for status in placements {
            if locations[status.endpointID] == nil {
                guard let location = EndpointLocation(endpointID: status.endpointID) else { continue }
                locations[status.endpointID] = location
            }
            byFile[status.file, default: []].append(Placement(status: status, location: locations[status.endpointID]!))
        }
        self.placements = byFile
        self.endpoints = locations.values.sorted { $0.endpointID < $1.endpointID }
        self.exactBases = Dictionary(grouping: endpoints.filter { $0.kind != .vertex && $0.kind != .bedrock }) {
            "\($0.kind.rawValue)|\($0.rawBase)"
        }
    }

    var fileCount: Int { files.count }

    /// A base URL as compared: scheme and host in lower case, no trailing slash, and for Azure no `/openai`
    /// suffix (LiteLLM accepts the resource URL with or without it).
    static func comparableBase(_ text: String, kind: ProviderKind) -> String {
        var base = text.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        if let schemeEnd = base.range(of: "://") {
            let hostEnd = base[schemeEnd.upperBound...].firstIndex(of: "/") ?? base.endIndex
            base = base[..<hostEnd].lowercased() + base[hostEnd...]
        }
        if kind == .azure, base.lowercased().hasSuffix("/openai") { base.removeLast("/openai".count) }
        // Anthropic's api_base is the API root; LiteLLM users also write it with `/v1`.
        if kind == .anthropic { base = Endpoint.anthropicBase(base) }
        if kind == .gemini { base = Endpoint.geminiBase(base) }
        return base
    }

    /// The endpoints a query's provider and base URL (or bucket) name.
    func matchingEndpoints(_ query: ResolutionQuery) -> [EndpointLocation] {
        switch query.kind {
        case .vertex:
            let bucket = query.bucket.map(Endpoint.bucketSetting)
            return endpoints.filter { $0.kind == .vertex && (bucket == nil || $0.bucket == bucket) }
        case .bedrock:
            let bucket = query.bucket.map(Endpoint.s3BucketSetting)
            return endpoints.filter { $0.kind == .bedrock && (bucket == nil || $0.bucket == bucket) }
        case .openai, .azure, .anthropic, .gemini:
            let given = query.apiBase ?? query.kind.defaultBaseURL ?? ""
            if let exact = exactBases["\(query.kind.rawValue)|\(given)"] { return exact }
            let base = Self.comparableBase(given, kind: query.kind)
            return endpoints.filter { $0.kind == query.kind && $0.base == base }
        }
    }

    /// Where `query`'s endpoint is, as a phrase for messages.
    private static func describe(_ query: ResolutionQuery) -> String {
        switch query.kind {
        case .vertex: return query.bucket.map { "vertex_ai gs://\(Endpoint.bucketSetting($0))" } ?? "vertex_ai"
        case .bedrock: return query.bucket.map { "bedrock s3://\(Endpoint.s3BucketSetting($0))" } ?? "bedrock"
        case .openai, .azure, .anthropic, .gemini:
            return "\(query.provider) \(query.apiBase ?? query.kind.defaultBaseURL ?? "")"
        }
    }

    /// Whether a declared file has this unified id.
    func declares(_ unifiedID: String) -> Bool { files[unifiedID] != nil }

    /// - Parameter moved: the rename that retired the id, when it is not declared (`StateStore.movedFile`).
    func resolve(_ query: ResolutionQuery, moved: MovedFile? = nil) -> Resolution {
        guard let file = files[query.unifiedID] else {
            if let moved {
                return .refused(
                    status: 404, code: "file_not_found",
                    message: "Ferry declares no file with id \(query.unifiedID): it was renamed from '\(moved.oldName)' "
                        + "to '\(moved.newName)'; use \(moved.newUnifiedID).")
            }
            return .refused(
                status: 404, code: "file_not_found",
                message: "Ferry declares no file with id \(query.unifiedID) (check the id, or that its manifest is applied).")
        }
        let endpoints = matchingEndpoints(query)
        if endpoints.isEmpty {
            let known = self.endpoints.filter { $0.kind == query.kind }.map(\.displayName)
            return .refused(
                status: 404, code: "unknown_endpoint",
                message: "Ferry manages no \(Self.describe(query)) endpoint"
                    + (known.isEmpty ? "." : " (it knows \(known.joined(separator: ", ")))")
                    + "; the deployment's parameters must match a model in Ferry's model list.")
        }
        let matching = Set(endpoints.map(\.endpointID))
        var candidates = (placements[file.name] ?? []).filter { matching.contains($0.status.endpointID) }
        if candidates.isEmpty {
            let elsewhere = (placements[file.name] ?? []).map(\.location.displayName)
            return .refused(
                status: 404, code: "not_placed",
                message: "File '\(file.name)' (\(query.unifiedID)) is not placed on \(endpoints[0].displayName): "
                    + "it targets \(file.targetModels.joined(separator: ", "))"
                    + (elsewhere.isEmpty ? "" : ", on \(elsewhere.joined(separator: ", "))")
                    + ". Add a model on this endpoint to its models to place it there.")
        }
        if candidates.count > 1, let model = query.model {
            let narrowed = candidates.filter { $0.status.models.contains(model) }
            if !narrowed.isEmpty { candidates = narrowed }
        }
        guard candidates.count == 1, let placement = candidates.first else {
            return .refused(
                status: 409, code: "ambiguous_endpoint",
                message: "\(candidates.count) of Ferry's endpoints match \(Self.describe(query)) (they differ by "
                    + "credential: \(candidates.map(\.location.endpointID).joined(separator: ", "))); "
                    + "name the model group (model=) the request was routed through.")
        }
        let status = placement.status
        let subject = "File '\(file.name)' (\(query.unifiedID)) on \(placement.location.displayName)"
        switch status.state {
        case .inSync:
            guard let remoteID = status.remoteID else { break }
            return .found(file: file.name, remoteID: remoteID, endpoint: placement.location, models: status.models)
        case .processing:
            return .refused(
                status: 409, code: "processing",
                message: "\(subject) is uploaded as \(status.remoteID ?? "?") but the provider is still processing it; "
                    + "retry shortly.")
        case .unknown:
            return .refused(
                status: 409, code: "not_listed",
                message: "\(subject): Ferry could not list that endpoint at its last run, so it cannot vouch for a file "
                    + "there" + (status.detail.map { " (\($0))" } ?? "") + ".")
        case .outOfSync:
            if let remoteID = status.remoteID {
                return .refused(
                    status: 409, code: "out_of_sync",
                    message: "\(subject) is out of sync: the provider holds an older version (\(remoteID)) and "
                        + "\(status.pendingAction?.rawValue ?? "an update") is pending; apply, or wait for the reconciler.",
                    staleRemoteID: remoteID)
            }
        }
        return .refused(
            status: 409, code: "not_uploaded",
            message: "\(subject) is declared but not uploaded yet"
                + (status.pendingAction.map { " (pending: \($0.rawValue))" } ?? "")
                + "; apply, or wait for the reconciler.")
    }
}

/// Keeps the `ResolutionIndex` of the latest snapshot. A request checks whether the database changed (its file
/// stamp for SQLite, else `snapshotUpdatedAt`) and rebuilds the index only when a new snapshot was saved. The
/// request that finds the new snapshot waits for the rebuild; requests arriving meanwhile get the previous index.
final class ResolutionCache: Sendable {
    private struct State {
        var index: ResolutionIndex?
        /// The database stamp at which `index` was last known current.
        var stamp: DatabaseStamp?
        var building: Task<ResolutionIndex, any Error>?
    }

    private let state = Mutex(State())

    func index(_ view: StatusView) async throws -> ResolutionIndex {
        let stamp = view.store.filePath.flatMap(DatabaseStamp.init(path:))
        let current: ResolutionIndex? = state.withLock { state in
            guard let stamp, state.stamp == stamp else { return nil }
            return state.index
        }
        if let current { return current }
        // The stamp is taken before reading, so a commit after it only makes the next request check again.
        let snapshotAt = try await view.read { try $0.snapshotUpdatedAt() }
        enum Next {
            case ready(ResolutionIndex)
            case wait(Task<ResolutionIndex, any Error>)
        }
        let next: Next = state.withLock { state in
            if let index = state.index, index.snapshotAt == snapshotAt {
                state.stamp = stamp
                return .ready(index)
            }
            // While one request waits for the new snapshot's index (a few hundred ms at 10,000 files), others are
            // answered from the previous one rather than queueing behind it.
            if let building = state.building { return state.index.map { .ready($0) } ?? .wait(building) }
            let building = Task {
                try await view.read { store in
                    let snapshotAt = try store.snapshotUpdatedAt()
                    let endpointIDs = try store.endpointRecords().map(\.id)
                    return ResolutionIndex(
                        files: try store.desiredFiles(), placements: try store.placementStatuses(),
                        endpointIDs: endpointIDs, snapshotAt: snapshotAt)
                }
            }
            state.building = building
            return .wait(building)
        }
        let task: Task<ResolutionIndex, any Error>
        switch next {
        case .ready(let index): return index
        case .wait(let building): task = building
        }
        do {
            let index = try await task.value
            state.withLock { state in
                if state.building == task {
                    state.building = nil
                    state.index = index
                    state.stamp = index.snapshotAt == snapshotAt ? stamp : nil
                }
            }
            return index
        } catch {
            state.withLock { state in if state.building == task { state.building = nil } }
            throw error
        }
    }
}

extension StatusView {
    /// `GET /api/v1/resolve/{unified_id}?provider=&api_base=&bucket=&model=`: the provider file id that serves a
    /// unified id on one endpoint, for gateways that rewrite requests (Ferry's LiteLLM callback).
    func resolve(_ id: String, _ parameters: Parameters) async throws -> Payload {
        let query: ResolutionQuery
        do {
            query = try ResolutionQuery(unifiedID: id, parameters)
        } catch let error as APIError {
            return error.payload
        }
        let index = try await resolutions.index(self)
        // Only an id that is not declared can be a renamed file's old one.
        let moved = index.declares(id) ? nil : try await read { try $0.movedFile(unifiedID: id) }
        let answer = index.resolve(query, moved: moved)
        guard case .found(let file, let remoteID, let endpoint, let models) = answer else { return answer.payload }
        return .json(
            .object([
                ("object", .string("ferry.file_resolution")),
                ("id", .string(id)),
                ("name", .string(file)),
                ("provider", .string(endpoint.kind.rawValue)),
                ("provider_file_id", .string(remoteID)),
                ("endpoint", .string(endpoint.displayName)),
                ("models", .array(models.map { .string($0) })),
                ("state", .string(PlacementStatus.State.inSync.rawValue)),
                ("snapshot_at", index.snapshotAt.map { .int(Int64($0)) } ?? .null),
            ]))
    }
}
