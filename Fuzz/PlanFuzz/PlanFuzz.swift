// libFuzzer target over the saved-plan reader (`SavedPlan.decode`, what `ferry apply PLAN` runs first).
// Built only when FERRY_FUZZ is set (see Package.swift and scripts/fuzz.sh); never part of `swift build`.
//
// Each input is the bytes of a plan file. A rejected file must give exactly one diagnostic naming it; an
// accepted plan must render (text, Markdown) and survive an encode/decode round trip unchanged.
// With FERRY_FUZZ_WRITE_SEEDS=DIR the binary instead writes saved plans made by the real planner to DIR and exits.
import FerryCore
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPlan(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? Data() : Data(bytes: data!, count: size)
    do {
        let saved = try SavedPlan.decode(bytes, path: "plan.json")
        _ = saved.plan.renderText(color: true)
        _ = saved.plan.renderMarkdown()
        _ = saved.plan.summaryLine
        let again = try? SavedPlan.decode(try saved.encoded(), path: "again.json")
        precondition(again == saved, "a decoded plan does not survive an encode/decode round trip")
    } catch {
        precondition(error.diagnostics.count == 1, "expected one diagnostic, got \(error.diagnostics)")
        precondition(error.diagnostics[0].file == "plan.json")
    }
    return 0
}

/// Writes saved plans made by the real planner to `directory`, for the seed corpus.
func writeSeedPlans(to directory: String) -> CInt {
    do {
        for (name, plan) in SeedPlans.all() {
            let saved = SavedPlan(plan: plan, createdAt: 1_764_000_000, manifestRoot: "manifests")
            try saved.encoded().write(to: URL(fileURLWithPath: directory).appendingPathComponent(name + ".json"))
        }
        return 0
    } catch {
        FileHandle.standardError.write(Data("cannot write seeds: \(error)\n".utf8))
        return 1
    }
}

/// Plans made by the real planner, covering every action kind, an unreachable endpoint and a blocked plan.
enum SeedPlans {
    static let openai = Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("OPENAI_API_KEY"))
    static let azure = Endpoint(
        kind: .azure, baseURL: "https://eu.openai.azure.com", apiVersion: "2024-10-21", credential: .inline(fingerprint: "0a1b2c3d"))
    static let vertex = Endpoint(
        kind: .vertex, baseURL: "https://storage.googleapis.com", bucket: "my-bucket/ferry", credential: .none)
    static let models = [
        ModelDefinition(name: "gpt-4o-mini", model: "openai/gpt-4o-mini", provider: "openai", endpoint: openai, origin: "models.yaml:2"),
        ModelDefinition(name: "azure-gpt-4o", model: "azure/gpt-4o-eu", provider: "azure", endpoint: azure, origin: "models.yaml:7"),
        ModelDefinition(name: "gemini", model: "vertex_ai/gemini-2.0-flash", provider: "vertex_ai", endpoint: vertex, origin: "models.yaml:12"),
        ModelDefinition(name: "claude", model: "anthropic/claude", provider: "anthropic", endpoint: nil, origin: "models.yaml:17"),
    ]

    static func file(_ name: String, _ models: [String], policy: DeletionPolicy = .delete) -> DesiredFile {
        DesiredFile(
            name: name, sourcePath: "sources/\(name).md", bytes: 1_234, purpose: "assistants", filename: "\(name).md",
            targetModels: models, labels: ["team": "docs"], deletionPolicy: policy, declaredBy: "File/\(name)",
            origin: "files.yaml:1")
    }

    static func remote(_ id: String, _ name: String, createdAt: Int64 = 1_000, status: RemoteFileStatus = .processed) -> RemoteFile {
        RemoteFile(id: id, filename: "\(name).md", bytes: 1_234, purpose: "assistants", createdAt: createdAt, status: status,
                   statusDetails: status == .error ? "bad file" : nil)
    }

    static func owned(_ id: String, _ name: String, _ endpoint: Endpoint, digest: String, policy: DeletionPolicy = .delete) -> OwnedFile {
        OwnedFile(
            endpointID: endpoint.id, remoteID: id, file: name, digest: digest, bytes: 1_234, filename: "\(name).md",
            purpose: "assistants", createdAt: 1_000, deletionPolicy: policy)
    }

    static func plan(
        files: [DesiredFile], listings: [Endpoint: [RemoteFile]?], owned: [OwnedFile] = [], intents: [CreateIntent] = [],
        policy: PlanPolicy = PlanPolicy()
    ) -> Plan {
        var observations: [String: EndpointObservation] = [:]
        for (endpoint, listing) in listings {
            observations[endpoint.id] = EndpointObservation(
                endpointID: endpoint.id, files: listing, error: listing == nil ? "HTTP 503 Service Unavailable" : nil,
                observedAt: 10_000)
        }
        let digests = Dictionary(files.map { ($0.sourcePath, "digest-new") }, uniquingKeysWith: { a, _ in a })
        return Planner.plan(
            PlanInput(
                desired: DesiredState(files: files, models: models), digests: digests, observations: observations,
                owned: owned, intents: intents, now: 10_000),
            policy: policy)
    }

    static func all() -> [(String, Plan)] {
        let a = file("handbook", ["gpt-4o-mini", "azure-gpt-4o", "gemini"])
        let b = file("faq/billing", ["gpt-4o-mini"], policy: .retain)
        let everywhere: [Endpoint: [RemoteFile]?] = [openai: [], azure: [], vertex: []]
        var result: [(String, Plan)] = []
        result.append(("create", plan(files: [a, b], listings: everywhere)))
        result.append((
            "replace-delete-release",
            plan(
                files: [a],
                listings: [
                    openai: [remote("file-1", "handbook"), remote("file-2", "gone"), remote("file-3", "kept"), remote("file-x", "foreign")],
                    azure: [remote("file-4", "handbook", status: .error)], vertex: [],
                ],
                owned: [
                    owned("file-1", "handbook", openai, digest: "digest-old"), owned("file-2", "gone", openai, digest: "d"),
                    owned("file-3", "kept", openai, digest: "d", policy: .retain),
                    owned("file-4", "handbook", azure, digest: "digest-new"),
                    owned("gs://my-bucket/ferry/missing", "handbook", vertex, digest: "digest-new"),
                ]))
        )
        result.append((
            "adopt-expire",
            plan(
                files: [a], listings: [openai: [remote("file-9", "handbook", createdAt: 9_990)], azure: [], vertex: nil],
                intents: [
                    CreateIntent(id: 7, endpointID: openai.id, file: "handbook", digest: "digest-new", bytes: 1_234,
                                 filename: "handbook.md", purpose: "assistants", startedAt: 9_980),
                    CreateIntent(id: 8, endpointID: azure.id, file: "handbook", digest: "digest-new", bytes: 1_234,
                                 filename: "handbook.md", purpose: "assistants", startedAt: 1_000),
                ]))
        )
        result.append((
            "blocked",
            plan(
                files: [], listings: everywhere.merging([openai: [remote("file-5", "old")]], uniquingKeysWith: { _, b in b }),
                owned: [owned("file-5", "old", openai, digest: "d")], policy: PlanPolicy(maxDeletes: 0)))
        )
        result.append(("empty", plan(files: [], listings: [:])))
        return result
    }
}
