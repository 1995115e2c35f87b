import FerryCore
import Testing

/// An in-memory manifest root: paths to sizes, plus symlinks that escape.
struct FakeTree: SourceTree {
    var files: [String: Int64] = [:]
    var escaping: [String: String] = [:]
    var directories: Set<String> = []

    func inspect(_ relativePath: String) -> SourceInspection {
        if let target = escaping[relativePath] { return .escapesRoot(resolved: target) }
        if directories.contains(relativePath) { return .notRegularFile }
        guard let size = files[relativePath] else { return .missing }
        return .file(bytes: size)
    }

    func files(under directory: String) -> [String] {
        files.keys.filter { directory.isEmpty || $0.hasPrefix(directory + "/") }.sorted()
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
          api_version: "2024-10-21"
      - model_name: claude
        litellm_params:
          model: anthropic/claude-sonnet-4
          api_key: os.environ/ANTHROPIC_API_KEY
      - model_name: titan
        litellm_params:
          model: bedrock/amazon.titan-text-express-v1
    litellm_settings:
      drop_params: true
    """

let environment = ["OPENAI_API_KEY": "sk-test-openai", "AZURE_API_KEY": "azure-test-key"]

func load(
    _ manifests: [String: String], tree: FakeTree = FakeTree(files: ["docs/a.md": 10, "docs/b.md": 20]),
    environment: [String: String] = environment
) throws(ValidationFailed) -> LoadedManifests {
    var sources = manifests.map { ManifestSource(path: $0.key, text: $0.value) }
    if manifests["models.yaml"] == nil { sources.append(ManifestSource(path: "models.yaml", text: modelsYAML)) }
    return try ManifestLoader(displayRoot: "manifests/", environment: environment).load(sources, tree: tree)
}

/// Loads and returns the diagnostics' one-line renderings, or [] when loading succeeded.
func diagnostics(
    _ manifests: [String: String], tree: FakeTree = FakeTree(files: ["docs/a.md": 10, "docs/b.md": 20]),
    environment: [String: String] = environment
) -> [String] {
    do {
        _ = try load(manifests, tree: tree, environment: environment)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

@Suite("Manifest loading")
struct ManifestLoaderTests {
    /// A valid File resolves models to endpoints, secrets to memory, and the source to its size.
    @Test func loadsValidFile() throws {
        let loaded = try load([
            "files.yaml": """
            apiVersion: ferry.dev/v1alpha1
            kind: File
            metadata:
              name: handbook
              labels: {team: hr}
            spec:
              source: docs/a.md
              purpose: assistants
              targetModels: [gpt-4o-mini, azure-gpt-4o]
            """
        ])
        #expect(loaded.desired.files.count == 1)
        let file = loaded.desired.files[0]
        #expect(file.sourcePath == "docs/a.md")
        #expect(file.bytes == 10)
        #expect(file.filename == "a.md")
        #expect(file.labels == ["team": "hr"])
        #expect(loaded.desired.endpoints.map(\.kind) == [.azure, .openai])
        let openai = try #require(loaded.desired.endpoints.first { $0.kind == .openai })
        #expect(openai.baseURL == "https://api.openai.com/v1")
        #expect(openai.id == "openai|https://api.openai.com/v1|env:OPENAI_API_KEY")
        #expect(loaded.secrets[openai.id]?.value == "sk-test-openai")
        #expect("\(loaded.secrets[openai.id]!)" == "<redacted>")
    }

    /// FileSet globs expand to one file per match, named below the glob's folder, honouring exclude.
    @Test func expandsFileSet() throws {
        let tree = FakeTree(files: ["docs/faq/a.md": 1, "docs/faq/sub/b.md": 2, "docs/faq/draft-c.md": 3, "docs/x.txt": 4])
        let loaded = try load(
            [
                "sets.yaml": """
                kind: FileSet
                metadata: {name: faq}
                spec:
                  sources: ["docs/faq/**/*.md"]
                  exclude: "**/draft-*"
                  purpose: assistants
                  targetModels: [gpt-4o-mini]
                """
            ], tree: tree)
        #expect(loaded.desired.files.map(\.name) == ["faq/a.md", "faq/sub/b.md"])
        #expect(loaded.desired.files.map(\.sourcePath) == ["docs/faq/a.md", "docs/faq/sub/b.md"])
    }

    /// A FileSet large enough to be matched and inspected on several threads gives its members in name order and its
    /// problems in the order of the walk, as a sequential pass does, for two patterns naming some files twice.
    @Test func largeFileSetInParallel() throws {
        // Over three times the loader's threshold for parallel work (512 sources).
        let count = 1_553
        func name(_ index: Int) -> String {
            let digits = String(index)
            return "f" + String(repeating: "0", count: 5 - digits.count) + digits + ".md"
        }
        var tree = FakeTree()
        for index in 0..<count { tree.files["docs/set/" + name(index)] = Int64(index + 1) }
        tree.files["docs/set/skip.txt"] = 1
        let escaping = [7, count / 2, count - 1].map { "docs/set/" + name($0) }
        for path in escaping { tree.escaping[path] = "/etc/passwd" }
        let manifest = """
            kind: FileSet
            metadata: {name: big}
            spec:
              sources: ["docs/set/*.md", "docs/set/f000*.md"]
              purpose: assistants
              targetModels: [gpt-4o-mini]
            """
        let found = diagnostics(["sets.yaml": manifest], tree: tree)
        #expect(found.count == escaping.count)
        for (line, path) in zip(found, escaping) {
            #expect(line.contains("source '\(path)' is a symlink that leaves the manifest root"))
        }
        for path in escaping { tree.escaping[path] = nil }
        let loaded = try load(["sets.yaml": manifest], tree: tree)
        let names = (0..<count).map { "big/" + name($0) }
        #expect(loaded.desired.files.map(\.name) == names)
        #expect(loaded.desired.files.map(\.bytes) == (1...count).map(Int64.init))
    }

    /// Every problem of a run is reported at once, each with file, line, column and a hint.
    @Test func collectsEveryProblem() {
        let found = diagnostics([
            "bad.yaml": """
            kind: File
            metadata:
              name: handbook
            spec:
              source: docs/missing.md
              purpose: user_data
              targetModels: [gpt-4o-mini, gtp-4o-mini, azure-gpt-4o]
              colour: blue
            ---
            kind: File
            metadata:
              name: handbook
            spec:
              source: ../../etc/passwd
              purpose: 42
              targetModels: gpt-4o-mini
            """
        ])
        #expect(found == [
            "manifests/bad.yaml:5:11: error: source 'docs/missing.md' does not exist (hint: check the path; it is relative to this manifest)",
            "manifests/bad.yaml:6:12: error: purpose 'user_data' is not accepted by azure (hint: use one of: assistants, batch, evals, fine-tune)",
            "manifests/bad.yaml:7:31: error: unknown model 'gtp-4o-mini' (hint: did you mean 'gpt-4o-mini'?)",
            "manifests/bad.yaml:8:3: error: unknown key 'colour' in File spec (hint: allowed keys: source, purpose, targetModels, filename, deletionPolicy, protect, expiresAfter)",
            "manifests/bad.yaml:14:11: error: source '../../etc/passwd' is outside the manifest root (hint: sources must stay inside the repository; move the file under the manifest root)",
            "manifests/bad.yaml:15:12: error: spec.purpose must be a string, found a number (hint: quote the value to make it a string)",
            "manifests/bad.yaml:16:17: error: targetModels must be a list, found a scalar (hint: write targetModels: [gpt-4o-mini])",
        ])
    }

    /// YAML syntax errors carry the parser's line and column.
    @Test func yamlSyntaxError() {
        let found = diagnostics(["broken.yaml": "kind: File\nmetadata:\n  name: [unclosed\n"])
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("manifests/broken.yaml:4:1: error: YAML syntax error:"))
    }

    /// Duplicate keys are errors, not silently merged.
    @Test func duplicateKeys() {
        let found = diagnostics(["dup.yaml": "kind: File\nkind: FileSet\n"])
        #expect(found.count == 1)
        #expect(found[0].contains("duplicate key 'kind'"))
    }

    /// Duplicate names across documents are reported at the second declaration.
    @Test func duplicateNames() {
        let doc = """
            kind: File
            metadata: {name: same}
            spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
            """
        #expect(diagnostics(["a.yaml": doc, "b.yaml": doc]) == [
            "manifests/b.yaml:2:18: error: duplicate file name 'same' (hint: already declared at manifests/a.yaml:2; names must be unique)"
        ])
    }

    /// An unset os.environ reference is reported where it is written, naming the variable.
    @Test func unsetEnvironmentVariable() {
        let found = diagnostics(
            [
                "f.yaml": """
                kind: File
                metadata: {name: a}
                spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
                """
            ], environment: [:])
        #expect(found == [
            "manifests/models.yaml:5:16: error: environment variable OPENAI_API_KEY is not set (model 'gpt-4o-mini' needs api_key) (hint: export OPENAI_API_KEY=… before running Ferry)"
        ])
    }

    /// Models nobody targets need no credentials and no supported provider.
    @Test func untargetedModelsAreNotChecked() throws {
        let loaded = try load(
            [
                "f.yaml": """
                kind: File
                metadata: {name: a}
                spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
                """
            ], environment: ["OPENAI_API_KEY": "k"])
        #expect(loaded.desired.endpoints.count == 1)
    }

    /// Targeting a provider without a files API is an error at the target.
    @Test func unsupportedProvider() {
        let found = diagnostics([
            "f.yaml": """
            kind: File
            metadata: {name: a}
            spec: {source: docs/a.md, purpose: assistants, targetModels: [command]}
            """,
            "other.yaml": """
            model_list:
              - model_name: command
                litellm_params: {model: cohere/command-r}
            """,
        ])
        #expect(found == [
            "manifests/f.yaml:3:63: error: model 'command' uses provider 'cohere', which has no files API Ferry can manage (hint: target openai, azure, vertex_ai, anthropic, gemini or bedrock models (manifests/other.yaml:2))"
        ])
    }

    /// A symlink leaving the root, an empty source, a directory and a bad glob are each refused.
    @Test func sourceProblems() {
        let tree = FakeTree(
            files: ["docs/empty.md": 0, "docs/a.md": 1], escaping: ["docs/link.md": "/etc/passwd"], directories: ["docs"])
        let found = diagnostics(
            [
                "f.yaml": """
                kind: File
                metadata: {name: link}
                spec: {source: docs/link.md, purpose: assistants, targetModels: [gpt-4o-mini]}
                ---
                kind: File
                metadata: {name: empty}
                spec: {source: docs/empty.md, purpose: assistants, targetModels: [gpt-4o-mini]}
                ---
                kind: File
                metadata: {name: dir}
                spec: {source: docs, purpose: assistants, targetModels: [gpt-4o-mini]}
                ---
                kind: FileSet
                metadata: {name: set}
                spec: {sources: "docs/[a-", purpose: assistants, targetModels: [gpt-4o-mini]}
                ---
                kind: FileSet
                metadata: {name: none}
                spec: {sources: "docs/*.pdf", purpose: assistants, targetModels: [gpt-4o-mini]}
                """
            ], tree: tree)
        #expect(found == [
            "manifests/f.yaml:3:16: error: source 'docs/link.md' is a symlink that leaves the manifest root (to /etc/passwd) (hint: sources must stay inside the repository)",
            "manifests/f.yaml:7:16: error: source 'docs/empty.md' is empty (hint: providers reject empty files)",
            "manifests/f.yaml:11:16: error: source 'docs' is not a regular file (hint: point source at a file, or use a FileSet glob)",
            "manifests/f.yaml:15:17: error: bad glob 'docs/[a-': unclosed '[' in '[a-' (hint: e.g. 'docs/**/*.md')",
            "manifests/f.yaml:19:17: error: glob 'docs/*.pdf' matches no files (hint: patterns are relative to the manifest's folder; check the path and extension)",
        ])
    }

    /// Invalid UTF-8 is reported with its line and column.
    @Test func invalidUTF8() {
        var bytes = Array("kind: File\nmetadata: {name: ".utf8)
        bytes += [0xFF, 0xFE]
        let result = Result { () throws(ValidationFailed) in
            try ManifestLoader(displayRoot: "m/", environment: [:]).load([ManifestSource(path: "x.yaml", bytes: bytes)], tree: FakeTree())
        }
        guard case .failure(let failure) = result else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
        #expect(failure.diagnostics.map(\.description) == [
            "m/x.yaml:2:18: error: the file is not valid UTF-8 (hint: save it as UTF-8 text)"
        ])
    }

    /// Globs: `*` stays in a segment, `**` spans segments, classes and `?` work.
    @Test func globMatching() throws {
        #expect(try GlobPattern("docs/*.md").matches("docs/a.md"))
        #expect(try !GlobPattern("docs/*.md").matches("docs/sub/a.md"))
        #expect(try GlobPattern("docs/**/*.md").matches("docs/a.md"))
        #expect(try GlobPattern("docs/**/*.md").matches("docs/x/y/a.md"))
        #expect(try GlobPattern("docs/[ab]?.md").matches("docs/b1.md"))
        #expect(try !GlobPattern("docs/[!ab]?.md").matches("docs/b1.md"))
        #expect(throws: GlobError.self) { try GlobPattern("docs/a**") }
    }

    /// `..` is resolved inside the root and refused when it would leave it.
    @Test func normalizesPaths() {
        #expect(RelativePath.normalize("../docs/a.md", relativeTo: "manifests") == "docs/a.md")
        #expect(RelativePath.normalize("./a/./b/../c", relativeTo: "") == "a/c")
        #expect(RelativePath.normalize("../../x", relativeTo: "manifests") == nil)
        #expect(RelativePath.normalize("docs//a.md/", relativeTo: "") == "docs/a.md")
        #expect(RelativePath.normalize(".hidden/a.md", relativeTo: "m") == "m/.hidden/a.md")
        #expect(RelativePath.normalize("a/..", relativeTo: "") == "")
    }

    /// A path splits at its last `/` byte: the upload name of `docs/a/b.md` is `b.md`, also when the name is not
    /// ASCII or starts with a combining mark (which a character-based search would join to the `/`).
    @Test func splitsPathsAtTheLastSlash() {
        #expect(RelativePath.baseName(of: "docs/a/b.md") == "b.md")
        #expect(RelativePath.directory(of: "docs/a/b.md") == "docs/a")
        #expect(RelativePath.baseName(of: "top.md") == "top.md")
        #expect(RelativePath.directory(of: "top.md") == "")
        #expect(RelativePath.baseName(of: "dossiers/été/résumé.md") == "résumé.md")
        #expect(RelativePath.directory(of: "dossiers/été/résumé.md") == "dossiers/été")
        #expect(RelativePath.baseName(of: "docs/\u{301}x.md") == "\u{301}x.md")
        #expect(RelativePath.directory(of: "docs/\u{301}x.md") == "docs")
    }

    /// The fast check agrees with a full normalisation (written out here, apart from the code under test).
    @Test func recognisesNormalPaths() {
        func reference(_ path: String) -> String? {
            var parts: [Substring] = []
            for part in path.split(separator: "/") {
                if part == "." { continue }
                if part == ".." {
                    if parts.isEmpty { return nil }
                    parts.removeLast()
                } else {
                    parts.append(part)
                }
            }
            return parts.joined(separator: "/")
        }
        let paths = [
            "a", "a/b.md", "docs/d001/doc00001.txt", "", "/", "/a", "a/", "a//b", ".", "..", "./a", "a/.", "a/..",
            "a/../b", ".hidden", "a/.hidden/b", "...", "a/.../b", "a.b/c.d", "é/ü.md",
        ]
        for path in paths {
            let normal = !path.isEmpty && reference(path) == path
            if RelativePath.isNormal(path) { #expect(normal, "'\(path)'") }
            // Names starting with a dot are left to the full normalisation: the fast check may say no to them.
            if normal && !path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                #expect(RelativePath.isNormal(path), "'\(path)'")
            }
            #expect(RelativePath.normalize(path, relativeTo: "") == reference(path), "'\(path)'")
        }
    }
}
