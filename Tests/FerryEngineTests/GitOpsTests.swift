import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// The GitOps workflow issue, end to end through the `ferry` executable against the simulator.
@Suite("GitOps workflow", .serialized)
struct GitOpsTests {
    /// A repository not written for Ferry: an OpenAPI spec kept as a FileSet source, Kubernetes objects and a
    /// config sample beside the manifests, one manifest saved with a byte-order mark. `validate` lists what it
    /// skipped; `apply` uploads the YAML source like any other member; `--log-level info` names the skipped files.
    @Test func realRepositoryLayout() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.write(
            "manifests/api/openapi.yaml",
            "openapi: 3.1.0\ninfo: {title: Billing, version: '1.0'}\npaths:\n  /invoices:\n    get: {summary: List}\n")
        workspace.write("manifests/api/broken-sample.yaml", "paths: [unclosed\n")
        workspace.write(
            "manifests/api.yaml",
            """
            apiVersion: ferry.dev/v1alpha1
            kind: FileSet
            metadata: {name: api}
            spec: {sources: 'api/*.yaml', purpose: assistants, targetModels: [gpt-4o-mini]}
            """)
        workspace.write("manifests/deploy/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        workspace.write("manifests/.github/workflows/ci.yml", "on: push\njobs: {}\n")  // hidden folders are not read
        workspace.write("manifests/docs/handbook.md", "# Handbook\n")
        let bom = "\u{FEFF}kind: File\nmetadata: {name: handbook}\nspec: {source: docs/handbook.md, purpose: assistants, targetModels: [gpt-4o-mini]}\n"
        workspace.write("manifests/handbook.yaml", bom)

        let validate = try await FerryProcess.run(["validate"], in: workspace)
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("Valid: 3 file(s), 3 placement(s) on 1 endpoint(s)."))
        #expect(validate.stderr.contains("Skipped 3 YAML file(s) that are not manifests:"))
        #expect(validate.stderr.contains("manifests/api/openapi.yaml: a source of FileSet/api"))
        #expect(validate.stderr.contains("manifests/api/broken-sample.yaml: a source of FileSet/api"))
        #expect(validate.stderr.contains("manifests/deploy/configmap.yaml: no Ferry or LiteLLM document"))

        let apply = try await FerryProcess.run(["apply", "--auto-approve", "--log-level", "info"], in: workspace)
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stderr.contains("manifests/deploy/configmap.yaml: not a manifest (no Ferry or LiteLLM document)"))
        #expect(Set(workspace.openAIFiles.map(\.filename)) == ["openapi.yaml", "broken-sample.yaml", "handbook.md"])
    }

    /// A pull request from a fork has no keys: `validate --offline` passes with notes, touches no state and sends
    /// no request; without `--offline` the same run names each unset variable as an error; offline still fails
    /// on everything that is not a secret.
    @Test func offlineValidationNeedsNoSecrets() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("doc")
        let noKeys = ["OPENAI_API_KEY": "", "OPENAI_API_BASE": "", "AZURE_API_KEY": "", "AZURE_API_BASE": ""]
        let offline = try await FerryProcess.run(["validate", "--offline"], in: workspace, extraEnvironment: noKeys)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(offline.stdout.contains("Valid: 1 file(s), 2 placement(s) on 2 endpoint(s) (offline: credentials not checked)."))
        #expect(offline.stderr.contains("models.yaml:3:58: note: environment variable OPENAI_API_KEY is not set"))
        #expect(offline.stderr.contains("note: environment variable AZURE_API_BASE is not set"))
        #expect(!offline.stderr.contains("error"))
        #expect(!FileManager.default.fileExists(atPath: workspace.statePath), "validate created the state")
        #expect(workspace.simulator.stats().total == 0)

        let online = try await FerryProcess.run(["validate"], in: workspace, extraEnvironment: noKeys)
        #expect(online.status == 1)
        #expect(online.stderr.contains("models.yaml:3:58: error: environment variable OPENAI_API_KEY is not set"))

        workspace.write("manifests/docs/doc.md", "")
        let empty = try await FerryProcess.run(["validate", "--offline"], in: workspace, extraEnvironment: noKeys)
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("error: source 'docs/doc.md' is empty"))
    }
}
