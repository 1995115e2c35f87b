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
    /// Non-fatal findings.
    public var warnings: [Diagnostic]
}

/// Loads and validates manifests: LiteLLM model lists and Ferry's `File` and `FileSet` documents.
/// Pure: takes bytes, an environment and a source tree; collects every problem before failing.
public struct ManifestLoader: Sendable {
    /// Prefix shown before manifest paths in diagnostics (e.g. `manifests/`).
    public var displayRoot: String
    public var environment: [String: String]

    public init(displayRoot: String = "", environment: [String: String]) {
        self.displayRoot = displayRoot.isEmpty || displayRoot.hasSuffix("/") ? displayRoot : displayRoot + "/"
        self.environment = environment
    }

    /// The apiVersion Ferry's own documents use.
    public static let apiVersion = "ferry.dev/v1alpha1"
    /// Largest accepted `metadata.name`.
    static let maxNameLength = 253

    /// - Throws: `ValidationFailed` with every error found.
    public func load(_ sources: [ManifestSource], tree: some SourceTree) throws(ValidationFailed) -> LoadedManifests {
        var context = LoadContext(loader: self)
        for source in sources.sorted(by: { $0.path < $1.path }) {
            context.parseFile(source)
        }
        return try context.finish(tree: tree)
    }
}
