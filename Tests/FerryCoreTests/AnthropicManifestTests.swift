import FerryCore
import Testing

@Suite("Anthropic targets")
struct AnthropicManifestTests {
    static let claudeFile = """
        kind: File
        metadata: {name: a}
        spec: {source: docs/a.md, purpose: assistants, targetModels: [claude]}
        """
    static let withKey = environment.merging(["ANTHROPIC_API_KEY": "sk-ant-test"]) { $1 }

    /// A file targeting an anthropic/ model places on Anthropic's public API with the key from the environment.
    @Test func resolvesTheEndpoint() throws {
        let loaded = try load(["f.yaml": Self.claudeFile], environment: Self.withKey)
        let endpoint = try #require(loaded.desired.endpoints.first)
        #expect(loaded.desired.endpoints.count == 1)
        #expect(endpoint.kind == .anthropic)
        #expect(endpoint.baseURL == "https://api.anthropic.com")
        #expect(endpoint.id == "anthropic|https://api.anthropic.com|env:ANTHROPIC_API_KEY")
        #expect(loaded.secrets[endpoint.id]?.value == "sk-ant-test")
        #expect(!endpoint.kind.keepsPurpose)
    }

    /// ANTHROPIC_API_BASE (then ANTHROPIC_BASE_URL) moves the endpoint; a trailing /v1 is dropped.
    @Test func apiBaseFromTheEnvironment() throws {
        var environment = Self.withKey
        environment["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9/anthropic/v1/"
        let fromBaseURL = try load(["f.yaml": Self.claudeFile], environment: environment)
        #expect(fromBaseURL.desired.endpoints.first?.baseURL == "http://127.0.0.1:9/anthropic")
        environment["ANTHROPIC_API_BASE"] = "http://127.0.0.1:8/anthropic"
        let fromAPIBase = try load(["f.yaml": Self.claudeFile], environment: environment)
        #expect(fromAPIBase.desired.endpoints.first?.baseURL == "http://127.0.0.1:8/anthropic")
    }

    /// An unset ANTHROPIC_API_KEY is an error at the model only when a file targets it.
    @Test func missingKeyOnlyWhenTargeted() throws {
        let found = diagnostics(["f.yaml": Self.claudeFile])
        #expect(found == [
            "manifests/models.yaml:15:16: error: environment variable ANTHROPIC_API_KEY is not set (model 'claude' needs api_key) (hint: export ANTHROPIC_API_KEY=… before running Ferry)"
        ])
        // Without api_key in the model, the error names the default variable at the model.
        let bare = modelsYAML.replacingOccurrences(of: "      api_key: os.environ/ANTHROPIC_API_KEY\n", with: "")
        #expect(diagnostics(["f.yaml": Self.claudeFile, "models.yaml": bare]) == [
            "manifests/models.yaml:12:5: error: model 'claude' has no Anthropic API key: ANTHROPIC_API_KEY is not set (hint: set litellm_params.api_key: os.environ/NAME, or export ANTHROPIC_API_KEY)"
        ])
        let untargeted = try load([
            "f.yaml": """
            kind: File
            metadata: {name: a}
            spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
            """
        ])
        #expect(untargeted.desired.files.count == 1)
        // Offline, the missing key is a note, not an error.
        var sources = [ManifestSource(path: "f.yaml", text: Self.claudeFile)]
        sources.append(ManifestSource(path: "models.yaml", text: modelsYAML))
        let offline = try ManifestLoader(displayRoot: "manifests/", environment: environment, offline: true)
            .load(sources, tree: FakeTree(files: ["docs/a.md": 10]))
        #expect(offline.warnings.map(\.description).contains { $0.contains("ANTHROPIC_API_KEY") })
    }

    /// A source over Anthropic's 500 MB limit is refused at its source line and column.
    @Test func sizeLimit() {
        let tree = FakeTree(files: ["docs/a.md": 500_000_001, "docs/b.md": 500_000_000])
        let found = diagnostics(["f.yaml": Self.claudeFile], tree: tree, environment: Self.withKey)
        #expect(found == [
            "manifests/f.yaml:3:16: error: source 'docs/a.md' is 500000001 bytes, over the 500000000-byte limit of its target providers (hint: split the file or target a provider that accepts larger files)"
        ])
        let atLimit = diagnostics(
            ["f.yaml": Self.claudeFile.replacingOccurrences(of: "docs/a.md", with: "docs/b.md")], tree: tree,
            environment: Self.withKey)
        #expect(atLimit == [])
    }

    /// Any purpose is accepted for an Anthropic-only target (the schema still asks for one); shared targets still
    /// check theirs.
    @Test func purposeIsAcceptedAndNotChecked() throws {
        let odd = try load(
            ["f.yaml": Self.claudeFile.replacingOccurrences(of: "assistants", with: "whatever")], environment: Self.withKey)
        #expect(odd.desired.files.first?.purpose == "whatever")
        let shared = diagnostics(
            ["f.yaml": Self.claudeFile.replacingOccurrences(of: "assistants", with: "whatever")
                .replacingOccurrences(of: "[claude]", with: "[claude, gpt-4o-mini]")],
            environment: Self.withKey)
        #expect(shared.count == 1 && shared[0].contains("purpose 'whatever' is not accepted by openai"))
    }

    /// A file name Anthropic forbids (a colon) is refused before any upload.
    @Test func forbiddenFilename() {
        let found = diagnostics(
            ["f.yaml": Self.claudeFile.replacingOccurrences(of: "purpose: assistants,", with: "purpose: assistants, filename: \"a:b.md\",")],
            environment: Self.withKey)
        #expect(found.count == 1)
        #expect(found.first?.contains("file name 'a:b.md' is not accepted by anthropic: it contains ':'") == true)
    }
}
