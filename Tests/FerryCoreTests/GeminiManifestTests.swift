import FerryCore
import Testing

@Suite("Gemini targets and expiresAfter")
struct GeminiManifestTests {
    static let models = """
        model_list:
          - model_name: gpt-4o-mini
            litellm_params:
              model: openai/gpt-4o-mini
              api_key: os.environ/OPENAI_API_KEY
          - model_name: flash
            litellm_params:
              model: gemini/gemini-2.5-flash
          - model_name: azure-gpt-4o
            litellm_params:
              model: azure/gpt-4o-eu
              api_base: https://eu.openai.azure.com
              api_key: os.environ/AZURE_API_KEY
        """
    static let flashFile = """
        kind: File
        metadata: {name: a}
        spec: {source: docs/a.md, purpose: user_data, targetModels: [flash]}
        """

    static func loadGemini(_ file: String, _ environment: [String: String], tree: FakeTree? = nil) throws(ValidationFailed)
        -> LoadedManifests
    {
        try load(
            ["f.yaml": file, "models.yaml": models], tree: tree ?? FakeTree(files: ["docs/a.md": 10]),
            environment: environment)
    }

    static func problems(_ file: String, _ environment: [String: String], tree: FakeTree? = nil) -> [String] {
        diagnostics(
            ["f.yaml": file, "models.yaml": models], tree: tree ?? FakeTree(files: ["docs/a.md": 10]),
            environment: environment)
    }

    /// LiteLLM's order: GOOGLE_API_KEY before GEMINI_API_KEY, the public API unless GEMINI_API_BASE (a trailing
    /// /v1beta dropped); Gemini keeps no purpose.
    @Test func credentialsAndBase() throws {
        let both = environment.merging(["GOOGLE_API_KEY": "g-key", "GEMINI_API_KEY": "gm-key"]) { $1 }
        let loaded = try Self.loadGemini(Self.flashFile, both)
        let endpoint = try #require(loaded.desired.endpoints.first)
        #expect(endpoint.kind == .gemini)
        #expect(endpoint.baseURL == "https://generativelanguage.googleapis.com")
        #expect(endpoint.id == "gemini|https://generativelanguage.googleapis.com|env:GOOGLE_API_KEY")
        #expect(loaded.secrets[endpoint.id]?.value == "g-key")
        #expect(!endpoint.kind.keepsPurpose)

        var geminiOnly = environment.merging(["GEMINI_API_KEY": "gm-key"]) { $1 }
        geminiOnly["GEMINI_API_BASE"] = "http://127.0.0.1:9/gemini/v1beta/"
        let second = try Self.loadGemini(Self.flashFile, geminiOnly)
        #expect(second.desired.endpoints.first?.baseURL == "http://127.0.0.1:9/gemini")
        #expect(second.secrets[try #require(second.desired.endpoints.first).id]?.value == "gm-key")
    }

    /// api_key and api_base in the model win over the environment.
    @Test func modelParameters() throws {
        let models = Self.models.replacingOccurrences(
            of: "      model: gemini/gemini-2.5-flash",
            with: "      model: gemini/gemini-2.5-flash\n      api_key: os.environ/TEAM_GEMINI\n      api_base: http://127.0.0.1:7/gemini")
        let loaded = try load(
            ["f.yaml": Self.flashFile, "models.yaml": models], tree: FakeTree(files: ["docs/a.md": 10]),
            environment: environment.merging(["TEAM_GEMINI": "team", "GEMINI_API_KEY": "other"]) { $1 })
        #expect(loaded.desired.endpoints.first?.id == "gemini|http://127.0.0.1:7/gemini|env:TEAM_GEMINI")
        #expect(loaded.secrets[try #require(loaded.desired.endpoints.first).id]?.value == "team")
    }

    /// No key is an error at the model only when a file targets it.
    @Test func missingKeyOnlyWhenTargeted() throws {
        #expect(Self.problems(Self.flashFile, environment) == [
            "manifests/models.yaml:6:5: error: model 'flash' has no Gemini API key: neither GOOGLE_API_KEY nor GEMINI_API_KEY is set (hint: set litellm_params.api_key: os.environ/NAME, or export GEMINI_API_KEY)"
        ])
        let other = Self.flashFile.replacingOccurrences(of: "[flash]", with: "[gpt-4o-mini]")
        #expect(try Self.loadGemini(other, environment).desired.files.count == 1)
    }

    /// Gemini's 2 GB per file, and its 512-character display name, are checked at the source's place.
    @Test func limits() {
        let withKey = environment.merging(["GEMINI_API_KEY": "k"]) { $1 }
        let big = Self.problems(Self.flashFile, withKey, tree: FakeTree(files: ["docs/a.md": 2_000_000_001]))
        #expect(big == [
            "manifests/f.yaml:3:16: error: source 'docs/a.md' is 2000000001 bytes, over the 2000000000-byte limit of its target providers (hint: split the file or target a provider that accepts larger files)"
        ])
        let long = String(repeating: "n", count: 513)
        let named = Self.flashFile.replacingOccurrences(of: "purpose: user_data,", with: "purpose: user_data, filename: \(long),")
        let found = Self.problems(named, withKey)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("manifests/f.yaml:3:16: error: file name 'nnnn") == true)
        #expect(found.first?.contains("513 characters, over gemini's 512-character display name limit") == true)
    }

    /// expiresAfter takes seconds or a duration, is checked against OpenAI's and Azure's ranges with its place, and
    /// must target a provider that honours it.
    @Test func expiresAfter() throws {
        let openAI = """
            kind: File
            metadata: {name: a}
            spec: {source: docs/a.md, purpose: batch, targetModels: [gpt-4o-mini], expiresAfter: EXP}
            """
        func file(_ value: String, targets: String = "[gpt-4o-mini]") -> String {
            openAI.replacingOccurrences(of: "EXP", with: value).replacingOccurrences(of: "[gpt-4o-mini]", with: targets)
                .replacingOccurrences(of: "docs/a.md", with: "docs/a.jsonl")
        }
        let tree = FakeTree(files: ["docs/a.jsonl": 10])
        let withKey = environment.merging(["GEMINI_API_KEY": "k"]) { $1 }
        #expect(try Self.loadGemini(file("30d"), withKey, tree: tree).desired.files.first?.expiresAfterSeconds == 2_592_000)
        #expect(try Self.loadGemini(file("7200"), withKey, tree: tree).desired.files.first?.expiresAfterSeconds == 7200)
        #expect(Self.problems(file("59m"), withKey, tree: tree) == [
            "manifests/f.yaml:3:89: error: expiresAfter '59m' is 3540 seconds, outside OpenAI's 3600..2592000 (hint: use between 1h and 30d (e.g. expiresAfter: 7d))"
        ])
        #expect(Self.problems(file("soon"), withKey, tree: tree) == [
            "manifests/f.yaml:3:89: error: expiresAfter 'soon' is not a duration (hint: write seconds (86400) or a number with s, m, h or d (e.g. 30d))"
        ])
        #expect(Self.problems(file("1d", targets: "[azure-gpt-4o]"), withKey, tree: tree).first?.contains(
            "expiresAfter 1d is outside Azure OpenAI's 14d..30d") == true)
        #expect(Self.problems(file("1d", targets: "[flash]"), withKey, tree: tree) == [
            "manifests/f.yaml:3:83: error: expiresAfter applies to openai and azure files only, and no target model is one (hint: remove expiresAfter, or target an openai or azure model)"
        ])
    }

    /// Durations and margins.
    @Test func durations() {
        #expect(Expiry.seconds("6h") == 21_600)
        #expect(Expiry.seconds("90m") == 5_400)
        #expect(Expiry.seconds("45") == 45)
        #expect(Expiry.seconds("2d") == 172_800)
        #expect(Expiry.seconds("0") == nil && Expiry.seconds("-1h") == nil && Expiry.seconds("h") == nil)
        #expect(Expiry.text(seconds: 21_600) == "6h" && Expiry.text(seconds: 90) == "90s")
        #expect(Expiry.marginProblem(21_600) == nil)
        #expect(Expiry.marginProblem(172_800)?.contains("not shorter than the 2d a gemini file lives") == true)
        #expect(Expiry.utcText(0) == "1970-01-01T00:00:00Z")
        #expect(Expiry.utcText(1_744_654_279) == "2025-04-14T18:11:19Z")
    }
}
