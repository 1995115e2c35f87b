import FerryCore
import Foundation
import Testing

/// Inputs found by fuzzing the manifest loader and the saved-plan reader (scripts/fuzz.sh, docs/reliability.md).
/// Each must give a diagnostic, quickly, instead of trapping, hanging or exhausting memory.
@Suite("Fuzz regressions", .timeLimit(.minutes(1)))
struct FuzzRegressionTests {
    /// `a<n>` is a list of ten `a<n-1>`: `*a9` stands for 10^10 scalars while the text stays tiny.
    static func laughs(levels: Int) -> String {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<levels {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            lines.append("a\(level): &a\(level) [\(previous)]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Found by ManifestFuzz: an alias used as a mapping key. Yams hashes every key to find duplicates, walking
    /// the aliased structure in full, so `{*a6: 1}` took 11 s and `{*a9: 1}` would never finish.
    @Test func aliasExpansionInAKeyIsRefused() {
        // (The comment names a Ferry kind: a file that cannot be parsed is reported only when it looks like a
        // manifest; otherwise it is skipped, as quickly.)
        let found = diagnostics(["x.yaml": Self.laughs(levels: 10) + "z: {*a9: 1}\n# kind: File\n"])
        #expect(found.count == 1)
        #expect(found.first?.contains("manifests/x.yaml:") == true)
        #expect(found.first?.contains("YAML aliases here repeat more than 100000 nodes") == true)
    }

    /// The same structure as a value is refused too: any later walk over it (a decoder, a future check) would blow up.
    @Test func aliasExpansionInAValueIsRefused() {
        let found = diagnostics(["x.yaml": Self.laughs(levels: 10) + "model_list: *a9\n"])
        #expect(found.count == 1)
        #expect(found.first?.contains("YAML aliases here repeat more than 100000 nodes") == true)
    }

    /// Yams composes nodes recursively; libyaml alone stops at 1,000 levels, deep enough to matter on a small
    /// thread stack. Ferry stops at 64 with a diagnostic that has a position.
    @Test(arguments: [65, 999, 1_000, 100_000])
    func deepNestingIsRefused(depth: Int) {
        for text in [String(repeating: "[", count: depth), String(repeating: "{a: ", count: depth),
            String(repeating: "- ", count: depth) + "x\n"]
        {
            let found = diagnostics(["x.yaml": text + "\n# kind: File\n"])
            #expect(found.count == 1, "\(found)")
            #expect(found.first?.hasPrefix("manifests/x.yaml:1:") == true, "\(found)")
            #expect(found.first?.contains("YAML nesting deeper than 64 levels") == true, "\(found)")
        }
    }

    /// Nesting under the limit is not refused: it is ordinary YAML, and not a manifest (skipped); inside a
    /// manifest it gets the ordinary shape error. Without anything of Ferry's, the deep file is skipped too.
    @Test func nestingUnderTheLimitIsOrdinary() throws {
        let text = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        #expect(try load(["x.yaml": text]).skipped == [SkippedFile(path: "manifests/x.yaml", reason: "no Ferry or LiteLLM document")])
        #expect(try load(["x.yaml": String(repeating: "[", count: 1_000)]).skipped.first?.reason == "too large or deep for a manifest")
        #expect(diagnostics(["x.yaml": "kind: File\nmetadata: {name: a}\nspec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}\n---\n" + text]) == [
            "manifests/x.yaml:5:1: error: a manifest document must be a mapping "
                + "(hint: start it with 'kind: File', 'kind: FileSet' or a LiteLLM 'model_list:')"
        ])
    }

    /// Anchors and aliases in their ordinary use (LiteLLM `<<: *defaults`, a shared model list) still load.
    @Test func ordinaryAnchorsStillLoad() throws {
        let loaded = try load([
            "models.yaml": """
            defaults: &defaults
              api_key: os.environ/OPENAI_API_KEY
            model_list:
              - model_name: gpt-4o-mini
                litellm_params:
                  <<: *defaults
                  model: openai/gpt-4o-mini
            """,
            "files.yaml": """
            apiVersion: ferry.dev/v1alpha1
            kind: File
            metadata: {name: a, labels: {team: &team docs, owner: *team}}
            spec: {source: docs/a.md, purpose: assistants, targetModels: [gpt-4o-mini]}
            """,
        ])
        #expect(loaded.desired.files.map(\.name) == ["a"])
        #expect(loaded.desired.files.first?.labels == ["team": "docs", "owner": "docs"])
    }
}
