import AsyncHTTPClient
import Crypto
import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

@testable import FerryProviders

/// A Gemini client for the simulator's `/gemini` prefix that never really sleeps between retries.
func geminiClient(
    _ simulator: Simulator, _ http: HTTPClient, key: String = SimulatorHarness.key, chunkBytes: Int64? = nil,
    configure: (inout ProviderClientConfiguration) -> Void = { _ in }
) throws -> GeminiFilesClient {
    var configuration = ProviderClientConfiguration(requestTimeout: .seconds(30), clock: .system.sleeping { _ in })
    configure(&configuration)
    let endpoint = Endpoint(kind: .gemini, baseURL: simulator.geminiBaseURL, credential: .environment("GEMINI_API_KEY"))
    return try GeminiFilesClient(
        endpoint: endpoint, apiKey: Secret(key), httpClient: http, configuration: configuration,
        chunkBytes: chunkBytes ?? GeminiFilesClient.defaultChunkBytes)
}

/// End-to-end tests of `GeminiFilesClient` over real sockets on 127.0.0.1 against the simulator's Gemini flavor.
@Suite struct GeminiFilesClientIntegrationTests {
    static let key = SimulatorHarness.key

    /// A resumable upload in one request, then get, list and delete: the file carries its display name, size,
    /// SHA-256 and expiry (createTime + 48 h), and is gone afterwards (403 read as not found, delete again done).
    @Test func roundTrip() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(300_001)
            let source = try directory.write("source.md", data)
            let client = try geminiClient(simulator, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "handbook.md", purpose: "user_data", bytes: Int64(data.count)))
            #expect(created.id.hasPrefix("files/"))
            #expect(created.filename == "handbook.md")
            #expect(created.bytes == Int64(data.count))
            #expect(created.purpose == "")
            #expect(created.status == .processed)
            #expect(created.sha256 == SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
            #expect(created.expiresAt == created.createdAt + 48 * 3600)
            let bare = String(created.id.dropFirst("files/".count))
            #expect(simulator.fileContent(apiKey: Self.key, flavor: .gemini, id: bare) == data)
            #expect(simulator.stats().requests["POST /gemini/upload/v1beta/files"] == 1)
            #expect(simulator.stats().requests["POST /gemini/upload/v1beta/files?upload_id"] == 1)

            #expect(try await client.retrieve(id: created.id) == created)
            #expect(try await client.list().files == [created])

            try await client.delete(id: created.id)
            #expect(try await client.list().files.isEmpty)
            let missing = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(missing?.classification == .notFound)
            #expect(missing?.status == 403)
            // Deleting again (Gemini answers 403) counts as done.
            try await client.delete(id: created.id)
        }
    }

    /// A file larger than the chunk size goes in several `upload` requests at increasing offsets, the last one
    /// `upload, finalize`; the content arrives whole.
    @Test func chunkedUpload() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(250_000, seed: 3)
            let source = try directory.write("big.bin", data)
            let client = try geminiClient(simulator, http, chunkBytes: 64 * 1024)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "big.bin", purpose: "", bytes: Int64(data.count)))
            #expect(simulator.stats().requests["POST /gemini/upload/v1beta/files?upload_id"] == 4)
            let bare = String(created.id.dropFirst("files/".count))
            #expect(simulator.fileContent(apiKey: Self.key, flavor: .gemini, id: bare) == data)
            #expect(created.bytes == 250_000)
        }
    }

    /// With the default 8 MiB chunks, a 20 MiB file takes three upload requests (8, 8 and the final 4 MiB) and
    /// arrives whole.
    @Test func defaultChunkSize() async throws {
        try await withSimulator(configure: { $0.maxUploadBytes = 64 << 20 }) { simulator, http in
            let directory = try TemporaryDirectory()
            let data = (0..<(20 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            let source = try directory.write("big.bin", data)
            let client = try geminiClient(simulator, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "big.bin", purpose: "", bytes: Int64(data.count)))
            #expect(simulator.stats().requests["POST /gemini/upload/v1beta/files?upload_id"] == 3)
            let bare = String(created.id.dropFirst("files/".count))
            #expect(simulator.fileContent(apiKey: Self.key, flavor: .gemini, id: bare) == data)
        }
    }

    /// A chunk that fails (503, then a 500 after part of the file went through) is resumed: the client asks the
    /// session how much it holds and goes on from there; one file, whole.
    @Test func failedChunksResume() async throws {
        var plan = FaultPlan()
        plan.failNext = ["upload_part": [503, 500]]
        try await withSimulator(faults: plan) { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(200_000, seed: 5)
            let source = try directory.write("big.bin", data)
            let client = try geminiClient(simulator, http, chunkBytes: 64 * 1024)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "big.bin", purpose: "", bytes: Int64(data.count)))
            #expect(client.stats[.uploadPart].retries == 2)
            let files = simulator.files(apiKey: Self.key, flavor: .gemini)
            #expect(files.map { "files/" + $0.id } == [created.id])
            #expect(simulator.fileContent(apiKey: Self.key, flavor: .gemini, id: files[0].id) == data)
        }
    }

    /// An answer lost after the finalize stored the file: the retry's query finds the session finished and
    /// returns that file, so there is exactly one.
    @Test func lostFinalizeAnswerIsRecovered() async throws {
        var plan = FaultPlan()
        plan.acceptThenFailRate = 1
        try await withSimulator(faults: plan) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let client = try geminiClient(simulator, http)
            let created = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            #expect(simulator.files(apiKey: Self.key, flavor: .gemini).map { "files/" + $0.id } == [created.id])
        }
    }

    /// A listing follows pageToken past many pages (page size capped at Gemini's 100) and misses nothing.
    @Test func paginationPastOnePage() async throws {
        try await withSimulator { simulator, http in
            let seeded = (0..<23).map { index in
                "files/"
                    + simulator.seedFile(
                        apiKey: Self.key, flavor: .gemini, filename: "f\(index).md", purpose: "", data: [UInt8(index)],
                        createdAt: Int64(Date().timeIntervalSince1970) - 100 + Int64(index)
                    ).id
            }
            let client = try geminiClient(simulator, http) { $0.pageSize = 5 }
            let listing = try await client.list()
            #expect(Set(listing.files.map(\.id)) == Set(seeded))
            #expect(listing.files.count == 23)
            #expect(listing.pages == 5)
            #expect(simulator.stats().requests["GET /gemini/v1beta/files"] == 5)
            #expect(listing.files.allSatisfy { $0.purpose == "" && $0.expiresAt != nil })

            // The default page size is sent as Gemini's maximum, 100.
            let big = try await geminiClient(simulator, http).list()
            #expect(big.pages == 1 && big.files.count == 23)
        }
    }

    /// 429 RESOURCE_EXHAUSTED is retried on list, start and chunk; one file results.
    @Test func rateLimitIsRetried() async throws {
        var plan = FaultPlan(retryAfterSeconds: 1)
        plan.failNext = ["list": [429, 429], "upload_create": [429], "upload_part": [429]]
        try await withSimulator(faults: plan) { simulator, http in
            let client = try geminiClient(simulator, http)
            #expect(try await client.list().pages == 1)
            #expect(client.stats[.list].retries == 2)
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let created = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            #expect(client.stats[.uploadStart].retries == 1)
            #expect(client.stats[.uploadPart].retries == 1)
            #expect(simulator.files(apiKey: Self.key, flavor: .gemini).map { "files/" + $0.id } == [created.id])
            #expect(simulator.stats().responses["429"] == 4)
        }
    }

    /// Readiness: PROCESSING is pending, then ACTIVE is processed; a file marked FAILED while processing reports
    /// FAILED with its error message once processing ends. (Timed against a 3 s processing delay; the checks made
    /// while processing only count when they ran inside it, as a loaded machine may be slower.)
    @Test func processingAndFailedStates() async throws {
        let delay = Duration.seconds(3)
        try await withSimulator(configure: { $0.processingDelay = delay }) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let client = try geminiClient(simulator, http)
            let clock = ContinuousClock()
            let started = clock.now
            let created = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            let stored = clock.now  // after the simulator stored it
            #expect(simulator.failGeminiFile(apiKey: Self.key, id: created.id, message: "unsupported MIME type"))
            let during = try await client.retrieve(id: created.id).status
            if clock.now - started < delay {
                #expect(created.status == .pending)
                #expect(during == .pending)
            }
            try await Task.sleep(until: stored + delay + .milliseconds(200))
            let failed = try await client.retrieve(id: created.id)
            #expect(failed.status == .error)
            #expect(failed.statusDetails == "unsupported MIME type")
            #expect(!failed.status.isUsable)

            let other = try await client.create(UploadRequest(sourcePath: source, filename: "b.md", purpose: "", bytes: 3))
            try await Task.sleep(until: clock.now + delay + .milliseconds(200))
            #expect(try await client.retrieve(id: other.id).status == .processed)
        }
    }

    /// Files expire after the configured lifetime: gone from the listing, and 403 (not found) on get.
    @Test func filesExpire() async throws {
        try await withSimulator(configure: { $0.geminiFileLifetime = .seconds(5) }) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let client = try geminiClient(simulator, http)
            let created = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            #expect(created.expiresAt == created.createdAt + 5)
            #expect(try await client.list().files.count == 1)
            let remaining = Double(created.createdAt + 5) - Date().timeIntervalSince1970
            try await Task.sleep(for: .milliseconds(Int64(max(0, remaining) * 1000) + 300))
            #expect(try await client.list().files.isEmpty)
            let gone = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(gone?.classification == .notFound)
        }
    }

    /// A 403 on list or create is the key's refusal: terminal, with a message saying what to check; the echoed
    /// key never reaches the error.
    @Test func forbiddenListIsAuthFailureAndKeyFree() async throws {
        try await withSimulator(
            faults: FaultPlan(errorRate: ["list": 1, "upload_create": 1], errorStatuses: [403], echoRequestHeaders: true)
        ) { simulator, http in
            let client = try geminiClient(simulator, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.classification == .terminal)
            #expect(error?.status == 403)
            #expect(error?.providerCode == "PERMISSION_DENIED")
            #expect(error.map { "\($0)".contains("was refused") } == true)
            #expect(error.map { !$0.allText.contains(Self.key) && !"\($0)".contains(Self.key) } == true)

            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let create = await expectProviderError {
                _ = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            }
            #expect(create?.classification == .terminal)
            #expect(create.map { !$0.allText.contains(Self.key) && "\($0)".contains("was refused") } == true)
        }
    }

    /// A 403 on delete counts as done only when the listing confirms the file is gone: a refused delete of a file
    /// that is still listed is a retryable failure, so Ferry never forgets a file that exists.
    @Test func forbiddenDeleteOfListedFileIsNotDone() async throws {
        var plan = FaultPlan()
        plan.failNext = ["delete": [403]]
        try await withSimulator(faults: plan) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let client = try geminiClient(simulator, http)
            let created = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            let refused = await expectProviderError { try await client.delete(id: created.id) }
            #expect(refused?.isRetryable == true)
            #expect(refused?.status == 403)
            #expect(simulator.files(apiKey: Self.key, flavor: .gemini).count == 1)
            // The next attempt deletes it.
            try await client.delete(id: created.id)
            #expect(simulator.files(apiKey: Self.key, flavor: .gemini).isEmpty)
        }
    }

    /// Without a key the simulator answers 403 PERMISSION_DENIED, which on list is an authentication failure.
    @Test func missingKeyIsRefused() async throws {
        try await withSimulator { simulator, http in
            let endpoint = Endpoint(kind: .gemini, baseURL: simulator.geminiBaseURL, credential: .none)
            let client = try GeminiFilesClient(endpoint: endpoint, apiKey: nil, httpClient: http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.status == 403 && error?.classification == .terminal)
        }
    }

    /// The factory makes this client for `.gemini`, a trailing /v1beta in the base is accepted, other kinds are
    /// refused, and a key with a newline is refused without being echoed.
    @Test func factoryAndConfiguration() async throws {
        try await withSimulator { simulator, http in
            let endpoint = Endpoint(
                kind: .gemini, baseURL: simulator.geminiBaseURL + "/v1beta/", credential: .environment("GEMINI_API_KEY"))
            let provider = try ProviderFactory.makeProvider(endpoint: endpoint, apiKey: Secret(Self.key), httpClient: http)
            #expect(provider is GeminiFilesClient)
            #expect(try await provider.list().files.isEmpty)
            #expect(simulator.stats().requests["GET /gemini/v1beta/files"] == 1)
            let openAI = Endpoint(kind: .openai, baseURL: simulator.openAIBaseURL, credential: .none)
            #expect(throws: ProviderError.self) {
                _ = try GeminiFilesClient(endpoint: openAI, apiKey: nil, httpClient: http)
            }
            do {
                _ = try GeminiFilesClient(endpoint: endpoint, apiKey: Secret("gem-secret\n"), httpClient: http)
                Issue.record("expected a refusal")
            } catch {
                #expect(!"\(error)".contains("gem-secret"))
            }
        }
    }

    /// Gemini's File decodes with nanosecond timestamps, string sizes, base64 hashes and every state.
    @Test func wireFormat() throws {
        let json = """
            {"files":[{"name":"files/abc123","displayName":"a.pdf","mimeType":"application/pdf","sizeBytes":"1024",
            "createTime":"2025-04-14T18:11:19.117123456Z","expirationTime":"2025-04-16T18:11:19.117123456Z",
            "sha256Hash":"LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=","uri":"https://x/v1beta/files/abc123",
            "state":"ACTIVE","source":"UPLOADED"},
            {"name":"files/def","sizeBytes":"2","createTime":"2025-04-14T18:11:20Z","state":"FAILED",
            "error":{"code":3,"message":"bad video"}},
            {"name":"files/ghi","state":"PROCESSING"}],"nextPageToken":"t1"}
            """
        let page = try JSONDecoder().decode(GeminiFileList.self, from: Data(json.utf8))
        #expect(page.nextPageToken == "t1")
        let files = page.files.map { $0.remoteFile() }
        #expect(files.map(\.id) == ["files/abc123", "files/def", "files/ghi"])
        #expect(files[0].createdAt == 1_744_654_279 && files[0].expiresAt == 1_744_654_279 + 172_800)
        #expect(files[0].sha256 == "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")
        #expect(files.map(\.status) == [.processed, .error, .pending])
        #expect(files[1].statusDetails == "bad video")
        #expect(files[0].bytes == 1024 && files[0].filename == "a.pdf")
        #expect(try JSONDecoder().decode(GeminiFileList.self, from: Data("{}".utf8)).files.isEmpty)
    }
}
