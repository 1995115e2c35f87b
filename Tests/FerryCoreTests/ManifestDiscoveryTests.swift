import FerryCore
import Testing

/// Which YAML files under the manifests directory are manifests (issue: GitOps workflow, item 1), and validation
/// without credentials (item 2).
@Suite("Manifest discovery")
struct ManifestDiscoveryTests {
    static let openAPI = """
        openapi: 3.1.0
        info: {title: Billing, version: "1.0"}
        paths:
          /invoices:
            get: {summary: List invoices}
        """

    static let kubernetes = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: x}
        data: {a: b}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: r}
        """

    static func fileSet(_ sources: String, name: String = "api") -> String {
        """
        apiVersion: ferry.dev/v1alpha1
        kind: FileSet
        metadata: {name: \(name)}
        spec: {sources: '\(sources)', purpose: assistants, targetModels: [gpt-4o-mini]}
        """
    }

    static let file = """
        kind: File
        metadata: {name: doc}
        spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
        """

    /// A YAML file a FileSet takes as a source is data: not parsed, even when it is broken YAML or looks like a
    /// Ferry manifest, and it is uploaded like any member.
    @Test func sourcesAreNeverManifests() throws {
        let tree = FakeTree(files: ["specs/billing.yaml": 80, "specs/broken.yaml": 9, "specs/example.yaml": 120])
        let loaded = try load(
            [
                "set.yaml": Self.fileSet("specs/*.yaml"),
                "specs/billing.yaml": Self.openAPI,
                "specs/broken.yaml": "a: [b\n",
                "specs/example.yaml": Self.file,
            ], tree: tree)
        #expect(loaded.desired.files.map(\.name) == ["api/billing.yaml", "api/broken.yaml", "api/example.yaml"])
        #expect(
            loaded.skipped == [
                SkippedFile(path: "manifests/specs/billing.yaml", reason: "a source of FileSet/api"),
                SkippedFile(path: "manifests/specs/broken.yaml", reason: "a source of FileSet/api"),
                SkippedFile(path: "manifests/specs/example.yaml", reason: "a source of FileSet/api"),
            ])
    }

    /// A single File's source is data too; a FileSet whose glob matches its own manifest keeps it a manifest.
    @Test func singleSourcesAndSelfMatches() throws {
        let tree = FakeTree(files: ["docs/a.md": 10, "sample.yaml": 40, "all.yaml": 300])
        let loaded = try load(
            [
                "one.yaml": "kind: File\nmetadata: {name: s}\nspec: {source: sample.yaml, purpose: assistants, targetModels: [gpt-4o-mini]}\n",
                "sample.yaml": Self.file,
                "all.yaml": Self.fileSet("all.yaml", name: "self"),
            ], tree: tree)
        #expect(Set(loaded.desired.files.map(\.name)) == ["s", "self/all.yaml"])
        #expect(loaded.skipped.map(\.path) == ["manifests/sample.yaml"])
    }

    /// Other YAML (an OpenAPI spec, Kubernetes objects, broken YAML with nothing of Ferry's) is skipped and listed.
    @Test func otherYAMLIsSkipped() throws {
        let loaded = try load([
            "doc.yaml": Self.file, "openapi.yaml": Self.openAPI, "k8s/app.yaml": Self.kubernetes,
            "notes/broken.yaml": "title: [unclosed\n", "empty.yaml": "",
        ])
        #expect(loaded.desired.files.map(\.name) == ["doc"])
        #expect(
            Dictionary(uniqueKeysWithValues: loaded.skipped.map { ($0.path, $0.reason) }) == [
                "manifests/empty.yaml": "empty", "manifests/k8s/app.yaml": "no Ferry or LiteLLM document",
                "manifests/notes/broken.yaml": "not valid YAML", "manifests/openapi.yaml": "no Ferry or LiteLLM document",
            ])
    }

    /// What looks like Ferry's is still checked: broken YAML naming a Ferry kind, a kind one letter off, a stray
    /// document inside a manifest.
    @Test func brokenManifestsStillFail() {
        #expect(diagnostics(["x.yaml": "kind: File\nmetadata:\n\tname: a\n"]).first?.contains("x.yaml:3:1: error: YAML syntax error") == true)
        #expect(
            diagnostics(["x.yaml": "kind: Fiel\nmetadata: {name: a}\n"])
                == ["manifests/x.yaml:1:7: error: unknown kind 'Fiel' (hint: did you mean 'File'?)"])
        #expect(
            diagnostics(["x.yaml": Self.file + "\n---\n- stray\n"])
                == ["manifests/x.yaml:5:1: error: a manifest document must be a mapping (hint: start it with 'kind: File', 'kind: FileSet' or a LiteLLM 'model_list:')"])
    }

    /// A UTF-8 byte-order mark (Windows editors) is accepted, on manifests and model lists alike.
    @Test func byteOrderMarkIsAccepted() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let sources = [
            ManifestSource(path: "doc.yaml", bytes: bom + Array(Self.file.utf8)),
            ManifestSource(path: "models.yaml", bytes: bom + Array(modelsYAML.utf8)),
        ]
        let loaded = try ManifestLoader(displayRoot: "manifests/", environment: environment)
            .load(sources, tree: FakeTree(files: ["docs/a.md": 10]))
        #expect(loaded.desired.files.map(\.name) == ["doc"])
        #expect(loaded.skipped.isEmpty)
    }

    /// Offline, unset variables are notes and everything else is still checked; online they are errors.
    @Test func offlineValidationNeedsNoSecrets() throws {
        let models = """
            model_list:
              - model_name: gpt-4o-mini
                litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
              - model_name: azure-gpt-4o
                litellm_params: {model: azure/gpt-4o, api_base: os.environ/AZURE_API_BASE, api_key: os.environ/AZURE_API_KEY}
              - model_name: plain
                litellm_params: {model: openai/gpt-4o}
            """
        let doc = "kind: File\nmetadata: {name: doc}\nspec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini, azure-gpt-4o, plain]}\n"
        let sources = [ManifestSource(path: "models.yaml", text: models), ManifestSource(path: "doc.yaml", text: doc)]
        let tree = FakeTree(files: ["docs/a.md": 10])
        let offline = try ManifestLoader(displayRoot: "manifests/", environment: [:], offline: true).load(sources, tree: tree)
        #expect(offline.desired.files.count == 1)
        #expect(offline.warnings.allSatisfy { $0.severity == .note })
        #expect(
            Set(offline.warnings.map(\.description).map { String($0.prefix(while: { $0 != "(" })) }) == [
                "manifests/models.yaml:3:58: note: environment variable OPENAI_API_KEY is not set ",
                "manifests/models.yaml:5:53: note: environment variable AZURE_API_BASE is not set ",
                "manifests/models.yaml:5:89: note: environment variable AZURE_API_KEY is not set ",
                "manifests/models.yaml:6:5: note: model 'plain' needs OPENAI_API_KEY ",
            ])
        #expect(throws: ValidationFailed.self) {
            try ManifestLoader(displayRoot: "manifests/", environment: [:]).load(sources, tree: tree)
        }
        // Offline still catches everything that is not a secret.
        let typo = ManifestSource(path: "doc.yaml", text: doc.replacingOccurrences(of: "plain]", with: "plane]"))
        #expect(throws: ValidationFailed.self) {
            try ManifestLoader(displayRoot: "manifests/", environment: [:], offline: true)
                .load([sources[0], typo], tree: tree)
        }
    }
}
