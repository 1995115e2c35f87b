import Foundation
import Testing

@testable import FerrySimulator

private let secretKey = "sk-persist-secret-0042"

@Suite("Persistence")
struct StorageTests {
    @Test("files persist across stop and start in a storage directory")
    func persistence() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SimulatorConfiguration()
        configuration.storageDirectory = directory

        let big = (0..<(3 * 1024 * 1024 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9)) }
        let (keptID, deletedID, seeded, azureID) = try await withSimulator(configuration) { sim in
            let kept = try await upload(sim, key: secretKey, filename: "big \"one\".bin", purpose: "batch", data: big)
            #expect(kept.status == 200)
            let doomed = try await upload(sim, key: secretKey, filename: "doomed.txt", data: [1])
            let keptID = try #require(kept.json["id"] as? String)
            let deletedID = try #require(doomed.json["id"] as? String)
            #expect(try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(deletedID)", headers: bearer(secretKey)).status == 200)
            let seeded = sim.seedFile(apiKey: secretKey, filename: "seed.txt", purpose: "assistants", data: [4, 5], createdAt: 1_700_000_000)
            let azure = try await upload(sim, key: secretKey, filename: "az.jsonl", purpose: "fine-tune", data: [6], azureVersion: "2024-10-21")
            let azureID = try #require(azure.json["id"] as? String)
            return (keptID, deletedID, seeded, azureID)
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: directory + "/tenants")
        #expect(before.count == 2)

        try await withSimulator(configuration) { sim in
            let files = sim.files(apiKey: secretKey)
            #expect(Set(files.map(\.id)) == [keptID, seeded.id])
            #expect(!files.map(\.id).contains(deletedID))
            let kept = try #require(files.first { $0.id == keptID })
            #expect(kept.filename == "big \"one\".bin")
            #expect(kept.bytes == Int64(big.count))
            #expect(kept.purpose == "batch")
            #expect(kept.sha256 == Digests.sha256Hex(big))
            #expect(files.first { $0.id == seeded.id } == seeded)

            let content = try await send(.GET, "\(sim.openAIBaseURL)/files/\(keptID)/content", headers: bearer(secretKey))
            #expect(content.status == 200)
            #expect(content.body == big)
            #expect(sim.files(apiKey: secretKey, flavor: .azure).map(\.id) == [azureID])
            // The API key itself is written nowhere: neither in names nor in contents.
            for name in try FileManager.default.subpathsOfDirectory(atPath: directory) {
                #expect(!name.contains(secretKey))
                let data = FileManager.default.contents(atPath: directory + "/" + name) ?? Data()
                #expect(data.range(of: Data(secretKey.utf8)) == nil)
            }
        }
        // A new create after restart still works and lands on disk.
        try await withSimulator(configuration) { sim in
            #expect(sim.files(apiKey: secretKey).count == 2)
            sim.removeFile(apiKey: secretKey, id: keptID)
        }
        try await withSimulator(configuration) { sim in
            #expect(sim.files(apiKey: secretKey).map(\.id) == [seeded.id])
        }
    }

    @Test("in-memory files stay inspectable after the run ends; a new instance starts empty")
    func memoryRestart() async throws {
        let sim = Simulator()
        let created = try await withSimulatorHost(sim) {
            try await upload(sim, key: secretKey, filename: "m.txt", data: [1, 2])
        }
        #expect(created.status == 200)
        #expect(sim.files(apiKey: secretKey).map(\.id) == [created.json["id"] as? String ?? ""])
        try await withSimulator { fresh in
            let list = try await send(.GET, "\(fresh.openAIBaseURL)/files", headers: bearer(secretKey))
            #expect(list.ids.isEmpty)
        }
    }
}
