import FerryCore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One malformed input: files written over a valid workspace, and the diagnostic Ferry must print.
struct BadInput: CustomStringConvertible, Sendable {
    var name: String
    var files: [String: String]
    /// Extra setup beyond writing files (symlinks, permissions, binary content).
    var setup: (@Sendable (URL) throws -> Void)? = nil
    /// A fragment of the one-line diagnostic, including `file:line:column` where there is one.
    var expected: String
    var environment: [String: String] = [:]
    var arguments: [String] = []
    var description: String { name }
}

private func file(_ spec: String, name: String = "doc") -> String {
    "kind: File\nmetadata: {name: \(name)}\nspec: \(spec)\n"
}

private let ok = "source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]"

/// The corpus: YAML syntax, types, keys, duplicates, globs, sources, sizes, purposes, models, environment,
/// encodings, path escapes, and damaged state or plan files.
let badInputs: [BadInput] = [
    BadInput(name: "tab indentation", files: ["manifests/x.yaml": "kind: File\nmetadata:\n\tname: a\n"], expected: "x.yaml:3:1: error: YAML syntax error"),
    BadInput(name: "unclosed flow sequence", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini}")], expected: "x.yaml:3:"),
    BadInput(name: "unclosed quote", files: ["manifests/x.yaml": "kind: \"File\nmetadata: {name: a}\n"], expected: "x.yaml:3:1: error: YAML syntax error"),
    BadInput(name: "bad indentation of mapping", files: ["manifests/x.yaml": "kind: File\n metadata: {name: a}\n"], expected: "x.yaml:2:10: error: YAML syntax error"),
    BadInput(name: "undefined alias", files: ["manifests/x.yaml": "kind: File\nmetadata: *nope\n"], expected: "x.yaml:2:11: error: YAML syntax error"),
    BadInput(name: "duplicate key", files: ["manifests/x.yaml": "kind: File\nkind: File\n"], expected: "x.yaml:1:1: error: duplicate key 'kind'"),
    BadInput(name: "document is a list", files: ["manifests/x.yaml": file("{\(ok)}") + "---\n- kind: File\n"], expected: "x.yaml:5:1: error: a manifest document must be a mapping"),
    BadInput(name: "document is a scalar", files: ["manifests/x.yaml": file("{\(ok)}") + "---\nhello\n"], expected: "x.yaml:5:1: error: a manifest document must be a mapping"),
    BadInput(name: "no kind", files: ["manifests/x.yaml": file("{\(ok)}") + "---\nmetadata: {name: a}\n"], expected: "x.yaml:5:1: error: a manifest document needs 'kind' or 'model_list'"),
    BadInput(name: "unknown kind", files: ["manifests/x.yaml": "kind: Files\n"], expected: "x.yaml:1:7: error: unknown kind 'Files'"),
    BadInput(name: "kind not a string", files: ["manifests/x.yaml": "apiVersion: ferry.dev/v1alpha1\nkind: [File]\n"], expected: "x.yaml:2:7: error: kind must be a string, found a list"),
    BadInput(name: "wrong apiVersion", files: ["manifests/x.yaml": "apiVersion: v1\n" + file("{\(ok)}")], expected: "x.yaml:1:13: error: unsupported apiVersion 'v1'"),
    BadInput(name: "unknown top-level key", files: ["manifests/x.yaml": file("{\(ok)}") + "status: {}\n"], expected: "x.yaml:4:1: error: unknown key 'status' in File"),
    BadInput(name: "metadata missing", files: ["manifests/x.yaml": "kind: File\nspec: {\(ok)}\n"], expected: "x.yaml:1:1: error: File needs a metadata mapping"),
    BadInput(name: "metadata a list", files: ["manifests/x.yaml": "kind: File\nmetadata: [a]\n"], expected: "x.yaml:2:11: error: File needs a metadata mapping"),
    BadInput(name: "name missing", files: ["manifests/x.yaml": "kind: File\nmetadata: {labels: {}}\nspec: {\(ok)}\n"], expected: "x.yaml:2:11: error: File has no metadata.name"),
    BadInput(name: "name a number", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: 42}\nspec: {\(ok)}\n"], expected: "x.yaml:2:18: error: metadata.name must be a string, found a number"),
    BadInput(name: "name uppercase", files: ["manifests/x.yaml": file("{\(ok)}", name: "Handbook")], expected: "x.yaml:2:18: error: invalid name 'Handbook'"),
    BadInput(name: "name with spaces", files: ["manifests/x.yaml": file("{\(ok)}", name: "\"my file\"")], expected: "x.yaml:2:18: error: invalid name 'my file'"),
    BadInput(name: "name with dot-dot", files: ["manifests/x.yaml": file("{\(ok)}", name: "a/../b")], expected: "x.yaml:2:18: error: invalid name 'a/../b'"),
    BadInput(name: "unknown metadata key", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: a, namespace: x}\nspec: {\(ok)}\n"], expected: "x.yaml:2:21: error: unknown key 'namespace' in metadata"),
    BadInput(name: "labels a list", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: a, labels: [x]}\nspec: {\(ok)}\n"], expected: "x.yaml:2:29: error: metadata.labels must be a mapping of strings"),
    BadInput(name: "label value a number", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: a, labels: {tier: 1}}\nspec: {\(ok)}\n"], expected: "x.yaml:2:36: error: label 'tier' must be a string, found a number"),
    BadInput(name: "spec missing", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: a}\n"], expected: "x.yaml:1:1: error: File needs a spec mapping"),
    BadInput(name: "spec a string", files: ["manifests/x.yaml": "kind: File\nmetadata: {name: a}\nspec: docs/a.md\n"], expected: "x.yaml:3:7: error: File needs a spec mapping"),
    BadInput(name: "unknown spec key with suggestion", files: ["manifests/x.yaml": file("{\(ok), purpse: x}")], expected: "error: unknown key 'purpse' in File spec (hint: did you mean 'purpose'?)"),
    BadInput(name: "source missing", files: ["manifests/x.yaml": file("{purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:7: error: File 'doc' has no spec.source"),
    BadInput(name: "source a list", files: ["manifests/x.yaml": file("{source: [docs/a.md], purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: spec.source must be a string, found a list"),
    BadInput(name: "source empty string", files: ["manifests/x.yaml": file("{source: '', purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source path is empty"),
    BadInput(name: "source does not exist", files: ["manifests/x.yaml": file("{source: docs/nope.md, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source 'docs/nope.md' does not exist"),
    BadInput(name: "source is a directory", files: ["manifests/x.yaml": file("{source: docs, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source 'docs' is not a regular file"),
    BadInput(name: "source absolute", files: ["manifests/x.yaml": file("{source: /etc/passwd, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source '/etc/passwd' is an absolute path"),
    BadInput(name: "source home", files: ["manifests/x.yaml": file("{source: ~/.ssh/id_rsa, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source '~/.ssh/id_rsa' is an absolute path"),
    BadInput(name: "source escapes with dot-dot", files: ["manifests/x.yaml": file("{source: ../../etc/passwd, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: source '../../etc/passwd' is outside the manifest root"),
    BadInput(name: "source escapes from a subfolder", files: ["manifests/sub/x.yaml": file("{source: ../../state/x, purpose: assistants, targetModels: [gpt-4o-mini]}")], expected: "sub/x.yaml:3:16: error: source '../../state/x' is outside the manifest root"),
    BadInput(
        name: "source is a symlink out of the root", files: ["manifests/x.yaml": file("{source: docs/link.md, purpose: assistants, targetModels: [gpt-4o-mini]}")],
        setup: { root in try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("manifests/docs/link.md").path, withDestinationPath: "/etc/hostname") },
        expected: "x.yaml:3:16: error: source 'docs/link.md' is a symlink that leaves the manifest root"),
    BadInput(
        name: "source under a symlinked folder out of the root", files: ["manifests/x.yaml": file("{source: etc/hostname, purpose: assistants, targetModels: [gpt-4o-mini]}")],
        setup: { root in try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("manifests/etc").path, withDestinationPath: "/etc") },
        expected: "x.yaml:3:16: error: source 'etc/hostname' is a symlink that leaves the manifest root"),
    BadInput(
        name: "source is a named pipe", files: ["manifests/x.yaml": file("{source: docs/pipe, purpose: assistants, targetModels: [gpt-4o-mini]}")],
        setup: { root in
            // A FIFO would block a reader forever; it must be refused before anything opens it.
            guard mkfifo(root.appendingPathComponent("manifests/docs/pipe").path, 0o644) == 0 else {
                throw CocoaError(.fileWriteUnknown)
            }
        },
        expected: "x.yaml:3:16: error: source 'docs/pipe' is not a regular file"),
    BadInput(name: "source empty file", files: ["manifests/x.yaml": file("{source: docs/empty.md, purpose: assistants, targetModels: [gpt-4o-mini]}"), "manifests/docs/empty.md": ""], expected: "x.yaml:3:16: error: source 'docs/empty.md' is empty"),
    BadInput(
        name: "source over the provider limit", files: ["manifests/x.yaml": file("{source: docs/huge.bin, purpose: assistants, targetModels: [azure-gpt-4o]}")],
        setup: { root in
            let path = root.appendingPathComponent("manifests/docs/huge.bin").path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 513 * 1024 * 1024)  // sparse: no disk used
            try handle.close()
        },
        expected: "x.yaml:3:16: error: source 'docs/huge.bin' is 537919488 bytes, over the 536870912-byte limit"),
    BadInput(name: "filename with slash", files: ["manifests/x.yaml": file("{\(ok), filename: a/b.md}")], expected: "error: invalid filename 'a/b.md'"),
    BadInput(name: "purpose missing", files: ["manifests/x.yaml": file("{source: docs/a.md, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:7: error: File 'doc' has no spec.purpose"),
    BadInput(name: "purpose unknown", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: knowledge, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:36: error: purpose 'knowledge' is not accepted by openai"),
    BadInput(name: "purpose not accepted by azure", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: vision, targetModels: [azure-gpt-4o]}")], expected: "x.yaml:3:36: error: purpose 'vision' is not accepted by azure"),
    BadInput(name: "purpose a boolean", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: yes, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:36: error: spec.purpose must be a string, found a boolean"),
    BadInput(name: "batch without jsonl", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: batch, targetModels: [gpt-4o-mini]}")], expected: "x.yaml:3:16: error: purpose 'batch' needs a .jsonl source"),
    BadInput(name: "targetModels missing", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants}")], expected: "x.yaml:3:7: error: File 'doc' has no spec.targetModels"),
    BadInput(name: "targetModels a string", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: gpt-4o-mini}")], expected: "x.yaml:3:62: error: targetModels must be a list, found a scalar"),
    BadInput(name: "targetModels empty", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: []}")], expected: "x.yaml:3:62: error: targetModels is empty"),
    BadInput(name: "unknown model", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: [gpt-5-nano]}")], expected: "x.yaml:3:63: error: unknown model 'gpt-5-nano'"),
    BadInput(name: "model with a provider without files", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: [command]}"), "manifests/cohere.yaml": "model_list:\n  - model_name: command\n    litellm_params: {model: cohere/command-r}\n"], expected: "x.yaml:3:63: error: model 'command' uses provider 'cohere'"),
    BadInput(name: "bedrock model without a bucket", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: [titan]}"), "manifests/titan.yaml": "model_list:\n  - model_name: titan\n    litellm_params: {model: bedrock/amazon.titan-text-express-v1, aws_region_name: us-west-2}\n"], expected: "titan.yaml:2:5: error: model 'titan' has no S3 bucket for its batch files"),
    BadInput(name: "deletionPolicy unknown", files: ["manifests/x.yaml": file("{\(ok), deletionPolicy: Keep}")], expected: "error: unknown deletionPolicy 'Keep'"),
    BadInput(name: "duplicate names across files", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/y.yaml": file("{\(ok)}")], expected: "y.yaml:2:18: error: duplicate file name 'doc'"),
    BadInput(name: "fileset without sources", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:7: error: FileSet 's' has no spec.sources"),
    BadInput(name: "fileset bad glob", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {sources: 'docs/[a', purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:17: error: bad glob 'docs/[a'"),
    BadInput(name: "fileset star-star inside a segment", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {sources: 'docs/a**', purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:17: error: bad glob 'docs/a**'"),
    BadInput(name: "fileset glob matches nothing", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {sources: 'docs/*.pdf', purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:17: error: glob 'docs/*.pdf' matches no files"),
    BadInput(name: "fileset glob escapes", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {sources: '../../*', purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:17: error: glob '../../*' leaves the manifest root"),
    BadInput(name: "fileset sources a number", files: ["manifests/x.yaml": "kind: FileSet\nmetadata: {name: s}\nspec: {sources: 5, purpose: assistants, targetModels: [gpt-4o-mini]}\n"], expected: "x.yaml:3:17: error: spec.sources must be a string, found a number"),
    BadInput(name: "model_list not a list", files: ["manifests/models.yaml": "model_list: {a: b}\n"], expected: "models.yaml:1:13: error: model_list must be a list, found a mapping"),
    BadInput(name: "model entry without model_name", files: ["manifests/models.yaml": "model_list:\n  - litellm_params: {model: openai/x}\n"], expected: "models.yaml:2:5: error: model_list entry has no model_name"),
    BadInput(name: "model entry without litellm_params", files: ["manifests/models.yaml": "model_list:\n  - model_name: gpt-4o-mini\n"], expected: "models.yaml:2:5: error: model 'gpt-4o-mini' needs a litellm_params mapping"),
    BadInput(name: "model entry without model", files: ["manifests/models.yaml": "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params: {api_key: x}\n"], expected: "models.yaml:3:21: error: model 'gpt-4o-mini' has no litellm_params.model"),
    BadInput(name: "unset api key variable", files: ["manifests/x.yaml": file("{\(ok)}")], expected: "models.yaml:3:58: error: environment variable OPENAI_API_KEY is not set", environment: ["OPENAI_API_KEY": ""]),
    BadInput(name: "unset api base variable", files: ["manifests/x.yaml": file("{\(ok)}")], expected: "models.yaml:3:95: error: environment variable OPENAI_API_BASE is not set", environment: ["OPENAI_API_BASE": ""]),
    BadInput(name: "api_base not a URL", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/models.yaml": "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params: {model: openai/x, api_key: k, api_base: 'ftp://x'}\n"], expected: "models.yaml:3:61: error: api_base 'ftp://x' is not an http(s) URL"),
    BadInput(name: "vertex without bucket", files: ["manifests/x.yaml": file("{source: docs/a.md, purpose: assistants, targetModels: [gemini]}"), "manifests/vertex.yaml": "model_list:\n  - model_name: gemini\n    litellm_params: {model: vertex_ai/gemini-2.0-flash}\n"], expected: "vertex.yaml:2:5: error: model 'gemini' has no Cloud Storage bucket"),
    BadInput(name: "files_settings entry without provider", files: ["manifests/settings.yaml": "files_settings:\n  - api_key: x\n"], expected: "settings.yaml:2:5: error: files_settings entry has no custom_llm_provider"),
    BadInput(
        name: "invalid UTF-8", files: [:],
        setup: { root in try (Data("kind: File\nmetadata: {name: ".utf8) + Data([0xC3, 0x28]) + Data("}\n".utf8)).write(to: root.appendingPathComponent("manifests/bin.yaml")) },
        expected: "bin.yaml:2:18: error: the file is not valid UTF-8"),
    BadInput(
        name: "NUL byte", files: [:],
        setup: { root in try Data("kind: File\u{0}\n".utf8).write(to: root.appendingPathComponent("manifests/nul.yaml")) },
        expected: "nul.yaml: error: the file contains a NUL byte"),
    BadInput(
        name: "corrupt state database", files: ["manifests/x.yaml": file("{\(ok)}")],
        setup: { root in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("state"), withIntermediateDirectories: true)
            try Data(repeating: 0xAB, count: 8192).write(to: root.appendingPathComponent("state/state.sqlite"))
        },
        expected: "Error: cannot open state database"),
    BadInput(
        name: "foreign state database", files: ["manifests/x.yaml": file("{\(ok)}")],
        setup: { root in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("state"), withIntermediateDirectories: true)
            let path = root.appendingPathComponent("state/state.sqlite").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = [path, "CREATE TABLE invoices (id INTEGER);"]
            try process.launchSerially()
            process.waitUntilExit()
        },
        expected: "is a SQLite database that does not belong to Ferry"),
    BadInput(name: "state URL with connect_timeout=0", files: ["manifests/x.yaml": file("{\(ok)}")], expected: "connect_timeout=0 is not a number of seconds from 1 to 3600", arguments: ["plan", "--state", "postgres://ferry@127.0.0.1:1/ferry?connect_timeout=0"]),
    BadInput(name: "state URL with sslmode=verify-full", files: ["manifests/x.yaml": file("{\(ok)}")], expected: "sslmode=verify-full is not supported (use sslmode=disable or sslmode=require)", arguments: ["apply", "--auto-approve", "--state", "postgres://ferry:pw@127.0.0.1:1/ferry?sslmode=verify-full"]),
    BadInput(name: "state URL with an unknown parameter", files: ["manifests/x.yaml": file("{\(ok)}")], expected: "unsupported parameter target_session_attrs (only sslmode and connect_timeout)", arguments: ["plan", "--state", "postgres://ferry@127.0.0.1:1/ferry?target_session_attrs=any"]),
    BadInput(name: "vector store lists an undeclared file", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [gpt-4o-mini], files: [nope]}\n"], expected: "s.yaml:3:45: error: vector store 'kb' lists 'nope', which no File or FileSet declares"),
    BadInput(name: "vector store file not uploaded where the store is", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [azure-gpt-4o], files: [doc]}\n"], expected: "s.yaml:3:46: error: 'doc' is in vector store 'kb' but is not uploaded to"),
    BadInput(name: "vector store chunking type unknown", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [gpt-4o-mini], files: [doc], chunkingStrategy: {type: fixed}}\n"], expected: "s.yaml:3:76: error: chunkingStrategy type must be auto or static, found 'fixed'"),
    BadInput(name: "vector store expiry not a number of days", files: ["manifests/x.yaml": file("{\(ok)}"), "manifests/s.yaml": "kind: VectorStore\nmetadata: {name: kb}\nspec: {targetModels: [gpt-4o-mini], files: [doc], expiresAfterDays: 30d}\n"], expected: "s.yaml:3:69: error: expiresAfterDays must be a whole number of days from 1 to 365"),
    BadInput(
        name: "truncated saved plan", files: ["manifests/x.yaml": file("{\(ok)}"), "saved.plan": "{\"format\": \"ferry-plan/v1\", \"plan\": {\"actions\": ["],
        expected: "saved.plan: error: the plan file is damaged or truncated (not valid JSON)", arguments: ["apply", "saved.plan"]),
    BadInput(
        name: "saved plan of another program", files: ["manifests/x.yaml": file("{\(ok)}"), "saved.plan": "{\"format\": \"terraform\", \"plan\": {}}"],
        expected: "saved.plan: error: not a Ferry plan (format 'terraform')", arguments: ["apply", "saved.plan"]),
]

@Suite("Bad input corpus", .serialized)
struct BadInputCorpusTests {
    /// The corpus is as large as promised.
    @Test func corpusSize() {
        #expect(badInputs.count >= 60)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count)
    }

    /// Each bad input gives its diagnostic on one line, exit 1, no provider request and no state change.
    @Test(arguments: badInputs)
    func rejected(_ input: BadInput) async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.write("manifests/docs/a.md", "# a\n")
        for (path, content) in input.files { workspace.write(path, content) }
        try input.setup?(workspace.root)
        let stateBefore = FileManager.default.contents(atPath: workspace.statePath)
        var arguments = input.arguments.isEmpty ? ["apply", "--auto-approve"] : input.arguments
        if arguments.count > 1, arguments[1] == "saved.plan" { arguments[1] = workspace.root.appendingPathComponent("saved.plan").path }
        let result = try await FerryProcess.run(arguments, in: workspace, extraEnvironment: input.environment)
        #expect(result.status == 1, "\(input.name): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains(input.expected) }, "\(input.name): got \(result.stderr)")
        #expect(workspace.simulator.stats().total == 0, "\(input.name): a provider was called")
        let stateAfter = FileManager.default.contents(atPath: workspace.statePath)
        #expect(stateAfter == stateBefore, "\(input.name): the state database was created or changed")
    }
}
