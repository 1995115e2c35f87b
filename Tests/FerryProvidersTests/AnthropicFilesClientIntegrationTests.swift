import AsyncHTTPClient
import FerryCore
import FerrySimulator
import Foundation
import Testing

@testable import FerryProviders

/// An Anthropic client for the simulator's `/anthropic` prefix that never really sleeps between retries.
func anthropicClient(
    _ simulator: Simulator, _ http: HTTPClient, key: String = SimulatorHarness.key,
    configure: (inout ProviderClientConfiguration) -> Void = { _ in }
) throws -> AnthropicFilesClient {
    var configuration = ProviderClientConfiguration(requestTimeout: .seconds(30), clock: .system.sleeping { _ in })
    configure(&configuration)
    let endpoint = Endpoint(kind: .anthropic, baseURL: simulator.anthropicBaseURL, credential: .environment("TEST_KEY"))
    return try AnthropicFilesClient(endpoint: endpoint, apiKey: Secret(key), httpClient: http, configuration: configuration)
}

/// End-to-end tests of `AnthropicFilesClient` over real sockets on 127.0.0.1 against `FerrySimulator`.
@Suite struct AnthropicFilesClientIntegrationTests {
    static let key = SimulatorHarness.key

    /// Upload, list, retrieve and delete: the file comes back with its name and size, no purpose, ready at once.
    @Test func roundTrip() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(300_001)
            let source = try directory.write("source.md", data)
            let client = try anthropicClient(simulator, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "handbook.md", purpose: "assistants", bytes: Int64(data.count)))
            #expect(created.id.hasPrefix("file_"))
            #expect(created.filename == "handbook.md")
            #expect(created.bytes == Int64(data.count))
            #expect(created.purpose == "")
            #expect(created.status == .processed)
            #expect(abs(created.createdAt - Int64(Date().timeIntervalSince1970)) <= 5)
            #expect(simulator.fileContent(apiKey: Self.key, flavor: .anthropic, id: created.id) == data)

            let retrieved = try await client.retrieve(id: created.id)
            #expect(retrieved == created)
            #expect(try await client.list().files == [created])

            try await client.delete(id: created.id)
            #expect(try await client.list().files.isEmpty)
            let missing = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(missing?.classification == .notFound)
            // Deleting again counts as done.
            try await client.delete(id: created.id)
        }
    }

    /// The client sends the version and beta headers the simulator insists on, and a trailing /v1 in the base is
    /// accepted; the factory makes this client for `.anthropic`.
    @Test func baseURLAndFactory() async throws {
        try await withSimulator { simulator, http in
            let endpoint = Endpoint(
                kind: .anthropic, baseURL: simulator.anthropicBaseURL + "/v1/", credential: .environment("TEST_KEY"))
            let provider = try ProviderFactory.makeProvider(
                endpoint: endpoint, apiKey: Secret(Self.key), httpClient: http)
            #expect(provider is AnthropicFilesClient)
            #expect(try await provider.list().files.isEmpty)
            #expect(simulator.stats().requests["GET /anthropic/v1/files"] == 1)
        }
    }

    /// A listing follows after_id past many pages (page size capped at Anthropic's 1000) and misses nothing.
    @Test func paginationPastOnePage() async throws {
        try await withSimulator { simulator, http in
            let seeded = (0..<23).map { index in
                simulator.seedFile(
                    apiKey: Self.key, flavor: .anthropic, filename: "f\(index).md", purpose: "", data: [UInt8(index)],
                    createdAt: 1_700_000_000 + Int64(index)
                ).id
            }
            let client = try anthropicClient(simulator, http) { $0.pageSize = 5 }
            let listing = try await client.list()
            #expect(Set(listing.files.map(\.id)) == Set(seeded))
            #expect(listing.files.count == 23)
            #expect(listing.pages == 5)
            #expect(simulator.stats().requests["GET /anthropic/v1/files"] == 5)
            #expect(listing.files.allSatisfy { $0.purpose == "" && $0.createdAt >= 1_700_000_000 })

            // The default page size (10,000 for OpenAI) is sent as Anthropic's maximum, 1000.
            let big = try await anthropicClient(simulator, http).list()
            #expect(big.pages == 1 && big.files.count == 23)
        }
    }

    /// 429 and 529 overloaded_error are refusals: retried after retry-after, a create included, with one file.
    @Test func rateLimitAndOverloadAreRetried() async throws {
        var plan = FaultPlan(retryAfterSeconds: 2)
        plan.failNext = ["list": [529, 429], "create": [529]]
        try await withSimulator(faults: plan) { simulator, http in
            let recorder = SleepRecorder()
            let client = try anthropicClient(simulator, http) { $0.clock = .system.sleeping(recorder.sleep) }
            let listing = try await client.list()
            #expect(listing.pages == 1)
            #expect(client.stats[.list].retries == 2)
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            #expect(client.stats[.create].retries == 1)
            #expect(recorder.delays == [.seconds(2), .seconds(2), .seconds(2)])
            #expect(simulator.files(apiKey: Self.key, flavor: .anthropic).map(\.id) == [created.id])
        }
    }

    /// A 500 after the upload reached the provider is ambiguous (the engine resolves it by listing); a 500 on a
    /// list is retried.
    @Test func serverErrorOnCreateIsAmbiguous() async throws {
        var plan = FaultPlan()
        plan.acceptThenFailRate = 1
        try await withSimulator(faults: plan) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.md", [1, 2, 3])
            let client = try anthropicClient(simulator, http)
            let error = await expectProviderError {
                _ = try await client.create(UploadRequest(sourcePath: source, filename: "a.md", purpose: "", bytes: 3))
            }
            #expect(error?.classification == .ambiguous)
            #expect(error?.status == 500)
            #expect(error?.providerCode == "api_error")
            #expect(simulator.files(apiKey: Self.key, flavor: .anthropic).count == 1)
        }
    }

    /// A wrong key is terminal and a 413 is terminal; an echoed x-api-key never reaches Ferry's error.
    @Test func terminalErrorsAreKeyFree() async throws {
        try await withSimulator(
            faults: FaultPlan(errorRate: ["list": 1], errorStatuses: [401], echoRequestHeaders: true)
        ) { simulator, http in
            let client = try anthropicClient(simulator, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.classification == .terminal)
            #expect(error?.status == 401)
            #expect(error?.attempts == 1)
            #expect(error.map { !$0.allText.contains(Self.key) } == true)
            #expect(error.map { !"\($0)".contains(Self.key) } == true)
        }
    }

    /// Anthropic endpoints refuse the OpenAI client and the other way round; a key with a newline is refused
    /// without being echoed.
    @Test func refusedConfigurations() async throws {
        try await withSimulator { simulator, http in
            let anthropic = Endpoint(kind: .anthropic, baseURL: simulator.anthropicBaseURL, credential: .none)
            #expect(throws: ProviderError.self) {
                _ = try OpenAIFilesClient(endpoint: anthropic, apiKey: nil, httpClient: http)
            }
            let openAI = Endpoint(kind: .openai, baseURL: simulator.openAIBaseURL, credential: .none)
            #expect(throws: ProviderError.self) {
                _ = try AnthropicFilesClient(endpoint: openAI, apiKey: nil, httpClient: http)
            }
            do {
                _ = try AnthropicFilesClient(endpoint: anthropic, apiKey: Secret("ant-secret\n"), httpClient: http)
                Issue.record("expected a refusal")
            } catch {
                #expect(!"\(error)".contains("ant-secret"))
            }
        }
    }

    /// FileMetadata decodes with or without fractional seconds; the wire has no purpose or status.
    @Test func wireFormat() throws {
        let json = """
            {"data":[{"id":"file_011CNha8iCJcU1wXNR6q4V8w","type":"file","filename":"a.pdf","mime_type":"application/pdf",
            "size_bytes":1024,"created_at":"2025-04-14T18:11:19.117Z","downloadable":false},
            {"id":"file_2","type":"file","filename":"b.md","size_bytes":2,"created_at":"2025-04-14T18:11:20Z"}],
            "has_more":true,"first_id":"file_011CNha8iCJcU1wXNR6q4V8w","last_id":"file_2"}
            """
        let page = try JSONDecoder().decode(AnthropicFileList.self, from: Data(json.utf8))
        #expect(page.hasMore && page.lastID == "file_2")
        let files = page.data.map { $0.remoteFile() }
        #expect(files.map(\.createdAt) == [1_744_654_279, 1_744_654_280])
        #expect(files.map(\.bytes) == [1024, 2])
        #expect(files.allSatisfy { $0.purpose == "" && $0.status == .processed })
    }
}
