/// What happens to a remote file when its declaration is removed from the manifests.
public enum DeletionPolicy: String, Codable, Sendable, CaseIterable {
    /// Delete the remote file (the default).
    case delete = "Delete"
    /// Stop managing it and leave it on the provider.
    case retain = "Retain"
    /// `spec.protect: true`: Ferry never deletes the remote file. Removing the declaration releases it, as Retain
    /// does, and an upload of new content releases the old file instead of deleting it. Held in the state: only an
    /// applied plan that unprotects the file (the declaration without `protect: true`) lifts it.
    case protect = "Protect"

    /// Whether removing the declaration leaves the remote file in place.
    public var keepsRemote: Bool { self != .delete }
}

/// One declared file: where its bytes come from and where they must be available.
public struct DesiredFile: Hashable, Codable, Sendable {
    /// Unique name, e.g. `employee-handbook` or `faq/billing.md` for a FileSet member.
    public var name: String
    /// Stable id for this file across providers and content updates.
    public var unifiedID: String
    /// Source path relative to the manifest root, normalised (no `.` or `..`).
    public var sourcePath: String
    /// Size of the source when the manifests were loaded.
    public var bytes: Int64
    public var purpose: String
    /// The name uploaded to providers (defaults to the source's base name).
    public var filename: String
    /// `model_name`s from the model list, sorted and unique.
    public var targetModels: [String]
    public var labels: [String: String]
    public var deletionPolicy: DeletionPolicy
    /// `kind` of the declaring manifest (`File` or `FileSet`) and its name.
    public var declaredBy: String
    /// `path:line` of the declaration.
    public var origin: String
    /// Names this file was declared under before (`metadata.previousNames`): files Ferry owns under them are moved
    /// to this name instead of being uploaded again.
    public var previousNames: [String] = []
    /// `expiresAfter`: seconds after creation at which OpenAI or Azure delete the file by themselves (sent as
    /// `expires_after` on create); nil keeps the provider's default.
    public var expiresAfterSeconds: Int64? = nil

    public init(
        name: String, sourcePath: String, bytes: Int64, purpose: String, filename: String, targetModels: [String],
        labels: [String: String] = [:], deletionPolicy: DeletionPolicy = .delete, declaredBy: String = "File",
        origin: String = ""
    ) {
        self.name = name
        self.unifiedID = UnifiedID.make(for: name)
        self.sourcePath = sourcePath
        self.bytes = bytes
        self.purpose = purpose
        self.filename = filename
        self.targetModels = Self.normalizedTargets(targetModels)
        self.labels = labels
        self.deletionPolicy = deletionPolicy
        self.declaredBy = declaredBy
        self.origin = origin
    }
}

extension DesiredFile {
    /// Model names sorted and unique: `targets` itself when it already is (so files given one array share it).
    static func normalizedTargets(_ targets: [String]) -> [String] {
        targets.indices.dropFirst().allSatisfy { targets[$0 - 1] < targets[$0] } ? targets : Array(Set(targets)).sorted()
    }
}

/// A model from the model list, resolved to the endpoint its files live on.
public struct ModelDefinition: Hashable, Codable, Sendable {
    /// `model_name`.
    public var name: String
    /// `litellm_params.model`, e.g. `azure/my-deployment`.
    public var model: String
    /// Provider as LiteLLM names it (`openai`, `azure`, `vertex_ai`, `anthropic`, …).
    public var provider: String
    /// The endpoint files for this model live on; nil when the provider has no files API Ferry manages.
    public var endpoint: Endpoint?
    /// `path:line` of the entry.
    public var origin: String
    /// LiteLLM's `rpm`: requests per minute this deployment allows; nil for no limit.
    public var requestsPerMinute: Int?

    public init(
        name: String, model: String, provider: String, endpoint: Endpoint?, origin: String,
        requestsPerMinute: Int? = nil
    ) {
        self.name = name
        self.model = model
        self.provider = provider
        self.endpoint = endpoint
        self.origin = origin
        self.requestsPerMinute = requestsPerMinute
    }
}

/// A desired file on one endpoint: the unit that is planned, applied and reported.
public struct PlacementKey: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public var file: String
    public var endpointID: String

    public init(file: String, endpointID: String) {
        self.file = file
        self.endpointID = endpointID
    }

    public static func < (lhs: PlacementKey, rhs: PlacementKey) -> Bool {
        (lhs.file, lhs.endpointID) < (rhs.file, rhs.endpointID)
    }

    public var description: String { "\(file) @ \(endpointID)" }
}

/// Everything the manifests declare, validated.
public struct DesiredState: Sendable, Hashable {
    public var files: [DesiredFile]
    /// Every model in the model list (including ones no file targets).
    public var models: [ModelDefinition]
    /// Endpoints that at least one desired file targets, sorted.
    public var endpoints: [Endpoint]
    /// Every endpoint the model list resolves to, targeted or not (Ferry may still own files there), sorted.
    public var knownEndpoints: [Endpoint]
    /// Declared vector stores (`kind: VectorStore`), sorted by name.
    public var vectorStores: [DesiredVectorStore] = [] {
        didSet { vectorStores.sort { $0.name < $1.name } }
    }

    public init(files: [DesiredFile], models: [ModelDefinition]) {
        self.files =
            files.indices.dropFirst().allSatisfy { files[$0 - 1].name < files[$0].name }
            ? files : files.sorted { $0.name < $1.name }
        self.models = models
        self.knownEndpoints = Array(Set(models.compactMap(\.endpoint))).sorted()
        self.endpoints = []
        var targeted = Set<Endpoint>()
        var seen = Set<UnsafeRawPointer>()  // placement lists, shared by files with one target list
        for placements in resolvedPlacements() where seen.insert(Self.identity(of: placements)).inserted {
            targeted.formUnion(placements.map(\.endpoint))
        }
        self.endpoints = targeted.sorted()
    }

    /// `placements(of:)` for every file, in `files` order, resolving each model name once: most files share their
    /// target list with many others, so each distinct list is resolved once.
    public func resolvedPlacements() -> [[(endpoint: Endpoint, models: [String])]] {
        var endpointsByModel: [String: [Endpoint]] = [:]
        for model in models {
            guard let endpoint = model.endpoint else { continue }
            if !(endpointsByModel[model.name] ?? []).contains(where: { $0.id == endpoint.id }) {
                endpointsByModel[model.name, default: []].append(endpoint)
            }
        }
        var cache: [[String]: [(endpoint: Endpoint, models: [String])]] = [:]
        // Files of one declaration share their target list (the same array): the previous file's answer is taken
        // without hashing the list again.
        var previous: (targets: UnsafeRawPointer, placements: [(endpoint: Endpoint, models: [String])])?
        return files.map { file in
            let targets = Self.identity(of: file.targetModels)
            if let previous, previous.targets == targets { return previous.placements }
            let resolved: [(endpoint: Endpoint, models: [String])]
            if let known = cache[file.targetModels] {
                resolved = known
            } else {
                resolved = Self.placements(targeting: file.targetModels) { endpointsByModel[$0] ?? [] }
                cache[file.targetModels] = resolved
            }
            previous = (targets, resolved)
            return resolved
        }
    }

    /// The storage of an array: equal for two arrays that share it (and so hold the same elements). Arrays that do
    /// not share storage may still be equal: this only finds the common case fast.
    static func identity<Element>(of array: [Element]) -> UnsafeRawPointer {
        array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } ?? UnsafeRawPointer(bitPattern: 1)!
    }

    /// Endpoints (by id) that a model name resolves to. A model name listed several times
    /// (LiteLLM load balancing) resolves to each of its deployments' endpoints.
    public func endpoints(forModel name: String) -> [Endpoint] {
        var seen = Set<String>()
        return models.filter { $0.name == name }.compactMap(\.endpoint).filter { seen.insert($0.id).inserted }
    }

    /// The request rate limit of an endpoint: the smallest `rpm` among the models that resolve to it (they share
    /// the provider account, so the strictest one holds); nil when none sets one.
    public func requestsPerMinute(endpointID: String) -> Int? {
        models.filter { $0.endpoint?.id == endpointID }.compactMap(\.requestsPerMinute).min()
    }

    /// Placements of one file: one per endpoint, with the models on that endpoint.
    public func placements(of file: DesiredFile) -> [(endpoint: Endpoint, models: [String])] {
        Self.placements(targeting: file.targetModels, endpoints: endpoints(forModel:))
    }

    /// One placement per endpoint the target models resolve to (`endpoints`), with the models on that endpoint.
    private static func placements(targeting models: [String], endpoints: (String) -> [Endpoint])
        -> [(endpoint: Endpoint, models: [String])]
    {
        var byEndpoint: [String: (Endpoint, Set<String>)] = [:]
        for model in models {
            for endpoint in endpoints(model) {
                byEndpoint[endpoint.id, default: (endpoint, [])].1.insert(model)
            }
        }
        return byEndpoint.values.map { ($0.0, $0.1.sorted()) }.sorted { $0.0 < $1.0 }
    }
}
