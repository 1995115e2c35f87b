import AsyncHTTPClient
import FerryCore
import FerrySimulator
import Foundation
import Testing

@testable import FerryProviders

/// Large files through OpenAI's Uploads API, against the simulator.
@Suite struct UploadsIntegrationTests {
    private func partsClient(
        _ simulator: Simulator, _ http: HTTPClient, configure: (inout ProviderClientConfiguration) -> Void = { _ in }
    ) throws -> OpenAIFilesClient {
        try openAIClient(simulator, http) { configuration in
            configuration.largeFileThreshold = 1000
            configuration.uploadPartBytes = 300
            configure(&configuration)
        }
    }

    /// Parts cover the file exactly, in order, the last one short.
    @Test func partRanges() {
        #expect(
            OpenAIFilesClient.partRanges(bytes: 1000, partBytes: 300) == [0..<300, 300..<600, 600..<900, 900..<1000])
        #expect(OpenAIFilesClient.partRanges(bytes: 600, partBytes: 300) == [0..<300, 300..<600])
        #expect(OpenAIFilesClient.partRanges(bytes: 0, partBytes: 300).isEmpty)
    }

    /// A file over the threshold goes up in parts and comes back byte for byte; a small one uses the Files API.
    @Test func largeFileRoundTrip() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(1001, seed: 3)
            let source = try directory.write("large.jsonl", data)
            let client = try partsClient(simulator, http)

            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "large.jsonl", purpose: "batch", bytes: 1001)
            )
            #expect(created.filename == "large.jsonl")
            #expect(created.bytes == 1001)
            #expect(simulator.fileContent(apiKey: SimulatorHarness.key, id: created.id) == data)
            let requests = simulator.stats().requests
            #expect(requests["POST /v1/uploads"] == 1)
            #expect(requests["POST /v1/uploads/{id}/parts"] == 4)
            #expect(requests["POST /v1/uploads/{id}/complete"] == 1)
            #expect(requests["POST /v1/files"] == nil)

            let small = try directory.write("small.txt", [1, 2, 3])
            _ = try await client.create(
                UploadRequest(sourcePath: small, filename: "small.txt", purpose: "batch", bytes: 3))
            #expect(simulator.stats().requests["POST /v1/files"] == 1)
            #expect(try await client.list().files.count == 2)
        }
    }

    /// A part refused with 503 is retried alone; the upload still completes into one file.
    @Test func failedPartIsRetried() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(2000, seed: 4)
            let source = try directory.write("retry.bin", data)
            let recorder = SleepRecorder()
            let client = try partsClient(simulator, http) { configuration in
                configuration.uploadPartConcurrency = 1
                configuration.clock = .system.sleeping { delay in
                    try await recorder.sleep(delay)
                    simulator.setFaults(.none)
                }
            }
            simulator.setFaults(FaultPlan(errorRate: ["upload_part": 1], errorStatuses: [503], retryAfterSeconds: 1))
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "retry.bin", purpose: "batch", bytes: 2000)
            )
            #expect(recorder.delays == [.seconds(1)])
            #expect(simulator.fileContent(apiKey: SimulatorHarness.key, id: created.id) == data)
            #expect(simulator.stats().requests["POST /v1/uploads/{id}/parts"] == 8)
            #expect(client.stats[.uploadPart].retries == 1)
        }
    }

    /// A part refused for good cancels the upload and fails terminally: no file, nothing ambiguous.
    @Test func terminalPartFailureCancels() async throws {
        try await withSimulator(faults: FaultPlan(errorRate: ["upload_part": 1], errorStatuses: [400])) {
            simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("bad.bin", randomBytes(1500))
            let client = try partsClient(simulator, http) { $0.uploadPartConcurrency = 1 }
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "bad.bin", purpose: "batch", bytes: 1500)
                )
            }
            #expect(error?.classification == .terminal)
            #expect(error?.operation == .uploadPart)
            #expect(simulator.stats().requests["POST /v1/uploads/{id}/cancel"] == 1)
            #expect(simulator.stats().requests["POST /v1/uploads/{id}/complete"] == nil)
            #expect(try await client.list().files.isEmpty)
        }
    }

    /// A completion that fails with 500 after storing is ambiguous and not repeated; listing finds the file.
    @Test func failedCompletionIsAmbiguous() async throws {
        try await withSimulator(faults: FaultPlan(acceptThenFailRate: 1)) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("done.bin", randomBytes(1200))
            let client = try partsClient(simulator, http)
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "done.bin", purpose: "batch", bytes: 1200)
                )
            }
            #expect(error?.classification == .ambiguous)
            #expect(error?.operation == .uploadComplete)
            #expect(simulator.stats().requests["POST /v1/uploads/{id}/complete"] == 1)
            #expect(try await client.list().files.map(\.filename) == ["done.bin"])
        }
    }

    /// A wrong-size source is refused before an upload is even started.
    @Test func sizeMismatchBeforeStarting() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("short.bin", randomBytes(1100))
            let client = try partsClient(simulator, http)
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "short.bin", purpose: "batch", bytes: 1200)
                )
            }
            #expect(error?.code == .sourceChanged)
            #expect(simulator.stats().total == 0)
        }
    }
}
