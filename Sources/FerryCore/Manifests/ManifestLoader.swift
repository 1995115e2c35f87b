/// One manifest file's bytes, as read by the caller.
public struct ManifestSource: Sendable, Hashable {
    /// Path relative to the manifest root (`files/handbook.yaml`).
    public var path: String
    public var bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }
}

/// The result of loading manifests: the validated desired state plus the secrets it references.
public struct LoadedManifests: Sendable {
    public var desired: DesiredState
    /// Resolved credentials per endpoint id. In memory only; never stored or printed.
    public var secrets: [String: Secret]
    /// Non-fatal findings (warnings, and notes such as offline validation's unset variables).
    public var warnings: [Diagnostic]
    /// YAML files under the manifests directory that were not read as manifests, and why.
    public var skipped: [SkippedFile] = []
}

/// A `.yaml`/`.yml` file under the manifests directory that Ferry did not read as a manifest.
public struct SkippedFile: Hashable, Sendable, Codable {
    /// Path as shown in diagnostics (`manifests/docs/openapi.yaml`).
    public var path: String
    /// Why: `a source of FileSet/api-docs`, `no Ferry or LiteLLM document`, `not valid YAML`, ….
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Loads and validates manifests: LiteLLM model lists and Ferry's `File` and `FileSet` documents.
/// Pure: takes bytes, an environment and a source tree; collects every problem before failing.
public struct ManifestLoader: Sendable {
    /// Prefix shown before manifest paths in diagnostics (e.g. `manifests/`).
    public var displayRoot: String
    public var environment: [String: String]
    /// Validation without credentials (a pull request from a fork): an unset `os.environ/` reference or default key
    /// variable is a note, not an error, and the endpoint is checked with a placeholder.
    public var offline: Bool

    public init(displayRoot: String = "", environment: [String: String], offline: Bool = false) {
        self.displayRoot = displayRoot.isEmpty || displayRoot.hasSuffix("/") ? displayRoot : displayRoot + "/"
        self.environment = environment
        self.offline = offline
    }

    /// The apiVersion Ferry's own documents use.
    public static let apiVersion = "ferry.dev/v1alpha1"
    /// Largest accepted `metadata.name`.
    static let maxNameLength = 253

    /// Reads every candidate file (each `.yaml`/`.yml` under the manifests directory) and validates the manifests
    /// among them. A manifest is a file with a document of Ferry's (`kind: File`/`FileSet`, or `apiVersion:
    /// ferry.dev/…`) or a LiteLLM config (`model_list`, `files_settings`). A file another manifest declares as a
    /// source is data, never a manifest; any other YAML file (an OpenAPI spec, a config sample) is skipped and
    /// listed in `skipped`.
    /// - Throws: `ValidationFailed` with every error found.
    public func load(_ sources: [ManifestSource], tree: some SourceTree) throws(ValidationFailed) -> LoadedManifests {
        let sorted = sources.sorted { $0.path < $1.path }
        var context = LoadContext(loader: self)
        var manifests: [ManifestSource] = []
        var skipped: [String: String] = [:]
        for source in sorted {
            switch context.parseFile(source) {
            case .manifest: manifests.append(source)
            case .skipped(let reason): skipped[source.path] = reason
            }
        }
        // Files the declarations take as sources: data, even when they look like manifests (a repository that
        // uploads its example manifests). A file cannot make itself data.
        let takenBy = context.declaringManifests(of: sorted.map(\.path))
        for (path, declarers) in takenBy {
            skipped[path] = "a source of " + declarers.map(\.declaration).sorted().joined(separator: ", ")
        }
        let data = Set(takenBy.filter { path, declarers in declarers.contains { $0.file != path } }.keys)
        if manifests.contains(where: { data.contains($0.path) }) {
            context = LoadContext(loader: self)
            for source in manifests where !data.contains(source.path) { _ = context.parseFile(source) }
        }
        let manifestPaths = Set(manifests.map(\.path))
        let listed = skipped.filter { path, _ in !manifestPaths.contains(path) || data.contains(path) }
        var loaded = try context.finish(tree: tree)
        loaded.skipped = listed.map { SkippedFile(path: displayRoot + $0.key, reason: $0.value) }.sorted { $0.path < $1.path }
        return loaded
    }
}
