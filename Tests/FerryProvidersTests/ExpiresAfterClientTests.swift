import AsyncHTTPClient
import FerryCore
import FerrySimulator
import Foundation
import Testing

@testable import FerryProviders

/// `UploadRequest.expiresAfterSeconds` reaches OpenAI (multipart fields and the Uploads API) and Azure (its dotted
/// field names), and the created file reports `expires_at`, over real sockets against the simulator.
@Suite struct ExpiresAfterClientTests {
    static let key = SimulatorHarness.key

    /// Multipart create (OpenAI's `expires_after[anchor]`/`[seconds]`) and the Uploads API (JSON `expires_after`):
    /// both files expire `seconds` after creation, and listings report it.
    @Test func openAIFilesAndUploads() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let small = try directory.write("a.jsonl", [1, 2, 3])
            let large = try directory.write("b.jsonl", randomBytes(2500))
            let client = try openAIClient(simulator, http) {
                $0.largeFileThreshold = 1000
                $0.uploadPartBytes = 1000
            }
            let direct = try await client.create(
                UploadRequest(sourcePath: small, filename: "a.jsonl", purpose: "batch", bytes: 3, expiresAfterSeconds: 7200))
            #expect(direct.expiresAt == direct.createdAt + 7200)
            let parted = try await client.create(
                UploadRequest(
                    sourcePath: large, filename: "b.jsonl", purpose: "batch", bytes: 2500, expiresAfterSeconds: 86_400))
            #expect(parted.expiresAt == parted.createdAt + 86_400)
            #expect(simulator.stats().requests["POST /v1/uploads"] == 1)
            let listed = try await client.list().files
            #expect(Set(listed.compactMap(\.expiresAt)) == [direct.createdAt + 7200, parted.createdAt + 86_400])
            // Without it, nothing expires.
            let plain = try await client.create(UploadRequest(sourcePath: small, filename: "c.jsonl", purpose: "batch", bytes: 3))
            #expect(plain.expiresAt == nil)
        }
    }

    /// Azure takes `expires_after.anchor`/`.seconds` (14 to 30 days).
    @Test func azure() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.jsonl", [1, 2, 3])
            let endpoint = Endpoint(
                kind: .azure, baseURL: simulator.azureEndpoint, apiVersion: "2024-10-21", credential: .environment("K"))
            let client = try OpenAIFilesClient(endpoint: endpoint, apiKey: Secret(Self.key), httpClient: http)
            let created = try await client.create(
                UploadRequest(
                    sourcePath: source, filename: "a.jsonl", purpose: "batch", bytes: 3, expiresAfterSeconds: 1_209_600))
            #expect(created.expiresAt == created.createdAt + 1_209_600)
        }
    }
}
