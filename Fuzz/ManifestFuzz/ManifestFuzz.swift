// libFuzzer target over the manifest loader (ManifestLoader: YAML parsing, validation, cross-document checks).
// Built only when FERRY_FUZZ is set (see Package.swift and scripts/fuzz.sh); never part of `swift build`.
//
// Each input is one manifest file, `team/fuzz.yaml`, loaded together with a fixed, valid LiteLLM model list
// (`models.yaml`) so that `File`/`FileSet` documents alone reach the cross-document checks. Sources come from
// an in-memory tree: no file I/O. Besides "no trap, no hang, no blow-up", each run checks two invariants:
// every accepted source stays inside the tree (DESIGN.md invariant 8), and no secret taken from the
// environment appears in a diagnostic unless the input itself contains it (invariant 5).
import FerryCore

struct FuzzTree: SourceTree {
    static let sizes: [String: Int64] = [
        "sources/employee-handbook.md": 1_200,
        "sources/evals/questions.jsonl": 300,
        "sources/faq/billing.md": 10,
        "sources/faq/refunds.md": 20,
        "sources/faq/draft-pricing.md": 30,
        "sources/faq/sub/deep.md": 40,
        "team/docs/a.md": 5,
        "team/docs/b.txt": 6,
        "team/data.jsonl": 7,
        "team/empty.md": 0,
        "team/huge.bin": 600 * 1024 * 1024,
        "team/giant.bin": 9_000_000_000,
        "a": 1,
    ]
    static let directories: Set<String> = ["sources", "sources/faq", "team", "team/docs", "team/dir.md"]
    static let escaping: [String: String] = ["team/link.md": "/etc/passwd", "team/up.md": "../../outside.md"]

    func inspect(_ relativePath: String) -> SourceInspection {
        if let target = Self.escaping[relativePath] { return .escapesRoot(resolved: target) }
        if relativePath == "team/secret.md" { return .unreadable(reason: "permission denied") }
        if Self.directories.contains(relativePath) { return .notRegularFile }
        guard let size = Self.sizes[relativePath] else { return .missing }
        return .file(bytes: size)
    }

    func files(under directory: String) -> [String] {
        Self.sizes.keys.filter { directory.isEmpty || $0.hasPrefix(directory + "/") }.sorted()
    }
}

let modelsYAML = """
    model_list:
      - model_name: gpt-4o-mini
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/OPENAI_API_KEY
      - model_name: azure-gpt-4o
        litellm_params:
          model: azure/gpt-4o-eu
          api_base: https://eu.openai.azure.com
          api_key: os.environ/AZURE_API_KEY
      - model_name: gemini
        litellm_params:
          model: vertex_ai/gemini-2.0-flash
          gcs_bucket_name: my-bucket
          vertex_credentials: os.environ/GOOGLE_CREDS
      - model_name: claude
        litellm_params:
          model: anthropic/claude-sonnet-4
    """

let secrets = [
    "OPENAI_API_KEY": "sk-fuzzsecret-openai-1",
    "AZURE_API_KEY": "fuzzsecret-azure-2",
    "GOOGLE_CREDS": "fuzzsecret-google-3",
    "OTHER_KEY": "fuzzsecret-other-4",
]
let loader = ManifestLoader(displayRoot: "manifests/", environment: secrets)
let models = ManifestSource(path: "models.yaml", text: modelsYAML)
let tree = FuzzTree()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let input = String(decoding: bytes, as: UTF8.self)
    let sources = [models, ManifestSource(path: "team/fuzz.yaml", bytes: bytes)]
    var reported: [String] = []
    do {
        let loaded = try loader.load(sources, tree: tree)
        for file in loaded.desired.files {
            guard case .file = tree.inspect(file.sourcePath) else {
                fatalError("accepted a source outside the tree: \(file.sourcePath)")
            }
        }
        reported = loaded.warnings.map(\.description)
    } catch {
        precondition(!error.errors.isEmpty, "ValidationFailed without an error")
        reported = error.diagnostics.map(\.description)
    }
    for line in reported {
        for secret in secrets.values where line.contains(secret) && !input.contains(secret) {
            fatalError("a diagnostic shows a secret: \(line)")
        }
    }
    return 0
}
