import Foundation
import Testing

@testable import FerrySimulator

/// `SimulatorConfiguration.content = .discard` (`ferry simulator --content discard`): Files API creates are read
/// and counted, listed with their exact size, but no byte is kept; content downloads answer 410.
@Suite("Content mode discard")
struct ContentDiscardTests {
    @Test("creates are counted and listed with their size; content answers 410; nothing is kept")
    func discardsBytes() async throws {
        var configuration = SimulatorConfiguration()
        configuration.content = .discard
        try await withSimulator(configuration) { sim in
            let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let created = try await upload(sim, key: "sk-d", filename: "big.bin", purpose: "user_data", data: data)
            #expect(created.status == 200)
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["bytes"] as? Int == data.count)
            #expect(created.json["filename"] as? String == "big.bin")

            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("sk-d"))
            #expect(list.ids == [id])
            let retrieved = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-d"))
            #expect(retrieved.json["bytes"] as? Int == data.count)

            let content = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)/content", headers: bearer("sk-d"))
            #expect(content.status == 410)
            #expect(content.error["code"] as? String == "content_discarded")
            #expect((content.error["message"] as? String)?.contains("--content keep") == true)

            let azure = try await upload(
                sim, key: "az-d", filename: "b.jsonl", purpose: "batch", data: Array("{}\n".utf8),
                azureVersion: "2024-10-21")
            #expect(azure.status == 201)
            let azureID = try #require(azure.json["id"] as? String)
            let azureContent = try await send(
                .GET, "\(sim.azureEndpoint)/openai/files/\(azureID)/content?api-version=2024-10-21",
                headers: [("api-key", "az-d")])
            #expect(azureContent.status == 410)

            let held = sim.files(apiKey: "sk-d")
            #expect(held.map(\.bytes) == [Int64(data.count)])
            #expect(held.first?.sha256 == "")
            #expect(sim.fileContent(apiKey: "sk-d", id: id) == [])
            #expect(sim.stats().bytesUploaded == Int64(data.count + 3))
            #expect(sim.stats().bytesDownloaded == 0)

            // Deleting works as usual.
            let deleted = try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-d"))
            #expect(deleted.json["deleted"] as? Bool == true)
            #expect(sim.files(apiKey: "sk-d").isEmpty)
        }
    }

    @Test("the default mode keeps the bytes")
    func keepsByDefault() async throws {
        #expect(SimulatorConfiguration().content == .keep)
        try await withSimulator { sim in
            let created = try await upload(sim, key: "sk-k", filename: "a.txt", data: [1, 2, 3])
            let id = try #require(created.json["id"] as? String)
            let content = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)/content", headers: bearer("sk-k"))
            #expect(content.status == 200)
            #expect(content.body == [1, 2, 3])
        }
    }
}
