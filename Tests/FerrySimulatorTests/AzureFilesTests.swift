import Foundation
import Testing

@testable import FerrySimulator

@Suite("Azure OpenAI Files API")
struct AzureFilesTests {
    static let version = "2024-10-21"

    @Test("api-version is required")
    func apiVersionRequired() async throws {
        try await withSimulator { sim in
            for (method, path) in [(Method.GET, "/openai/files"), (.GET, "/openai/files/file-x"), (.DELETE, "/openai/files/file-x")] {
                let reply = try await send(method, sim.azureEndpoint + path, headers: [("api-key", "k")])
                #expect(reply.status == 400)
                #expect(reply.text == "{\"error\":{\"code\":\"BadRequest\",\"message\":\"Missing required query parameter: api-version\"}}")
            }
            let create = try await upload(sim, key: "k", filename: "a.jsonl", purpose: "fine-tune", data: [1], azureVersion: "")
            #expect(create.status == 400)
            #expect(sim.files(apiKey: "k", flavor: .azure).isEmpty)
        }
    }

    @Test("create answers 201 with Location; pending until processed; round trip")
    func roundTrip() async throws {
        var configuration = SimulatorConfiguration()
        configuration.processingDelay = .milliseconds(2000)
        try await withSimulator(configuration) { sim in
            let data = Array("{\"messages\":[]}\n".utf8)
            let uploadStarted = ContinuousClock.now
            let created = try await upload(
                sim, key: "az-key", filename: "train.jsonl", purpose: "fine-tune", data: data, azureVersion: Self.version)
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? String)
            #expect(matches(id, "^file-[0-9a-f]{32}$"))
            #expect(created.json["status"] as? String == "pending")
            #expect(created.json["object"] as? String == "file")
            #expect(created.json["bytes"] as? Int == data.count)
            #expect(created.header("Location") == "\(sim.azureEndpoint)/openai/files/\(id)?api-version=\(Self.version)")

            let base = "\(sim.azureEndpoint)/openai/files"
            let key = [("api-key", "az-key")]
            let pending = try await send(.GET, "\(base)/\(id)?api-version=\(Self.version)", headers: key)
            // Pending for sure only if the answer came within the delay of the upload's start (the file was made
            // after it); on a loaded machine the delay may already have passed.
            if ContinuousClock.now - uploadStarted < .milliseconds(2000) {
                #expect(pending.json["status"] as? String == "pending")
            } else {
                #expect(["pending", "processed"].contains(pending.json["status"] as? String ?? ""))
            }
            try await Task.sleep(for: .milliseconds(2300))
            let processed = try await send(.GET, "\(base)/\(id)?api-version=\(Self.version)", headers: key)
            #expect(processed.json["status"] as? String == "processed")

            // Bearer works too (Entra tokens).
            let list = try await send(.GET, "\(base)?api-version=\(Self.version)", headers: bearer("az-key"))
            #expect(list.status == 200)
            #expect(list.json["object"] as? String == "list")
            #expect(list.ids == [id])

            let content = try await send(.GET, "\(base)/\(id)/content?api-version=\(Self.version)", headers: key)
            #expect(content.body == data)

            let deleted = try await send(.DELETE, "\(base)/\(id)?api-version=\(Self.version)", headers: key)
            #expect(deleted.status == 200)
            #expect(deleted.json["deleted"] as? Bool == true)
            #expect(deleted.json["id"] as? String == id)
            let gone = try await send(.GET, "\(base)/\(id)?api-version=\(Self.version)", headers: key)
            #expect(gone.status == 404)
            #expect(gone.error["code"] as? String == "notFound")
            #expect(gone.error["message"] as? String != nil)
        }
    }

    @Test("Azure purposes and errors use Azure's envelope")
    func purposesAndErrors() async throws {
        try await withSimulator { sim in
            let rejected = try await upload(
                sim, key: "k", filename: "a.txt", purpose: "user_data", data: [1], azureVersion: Self.version)
            #expect(rejected.status == 400)
            #expect(rejected.error["code"] as? String == "invalidPayload")
            #expect(rejected.error["type"] == nil)
            let accepted = try await upload(
                sim, key: "k", filename: "a.jsonl", purpose: "batch", data: [1], azureVersion: Self.version)
            #expect(accepted.status == 201)

            let noKey = try await send(.GET, "\(sim.azureEndpoint)/openai/files?api-version=\(Self.version)")
            #expect(noKey.status == 401)
            #expect(noKey.error["code"] as? String == "401")
        }
    }

    @Test("Azure list honours limit, after and order")
    func pagination() async throws {
        try await withSimulator { sim in
            let seeded = (0..<5).map {
                sim.seedFile(
                    apiKey: "k", flavor: .azure, filename: "f\($0)", purpose: "fine-tune", data: [1],
                    createdAt: 2000 + Int64($0))
            }
            let base = "\(sim.azureEndpoint)/openai/files?api-version=\(Self.version)"
            let first = try await send(.GET, base + "&limit=2&order=asc", headers: [("api-key", "k")])
            #expect(first.ids == seeded[0..<2].map(\.id))
            #expect(first.json["has_more"] as? Bool == true)
            let second = try await send(.GET, base + "&limit=2&order=asc&after=\(seeded[1].id)", headers: [("api-key", "k")])
            #expect(second.ids == seeded[2..<4].map(\.id))
            let all = try await send(.GET, base, headers: [("api-key", "k")])
            #expect(all.ids == seeded.reversed().map(\.id))
            #expect(all.json["has_more"] as? Bool == false)
        }
    }
}
