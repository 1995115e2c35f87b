import AsyncHTTPClient
import FerryCore
import FerrySimulator
import Foundation
import Testing

@testable import FerryProviders

/// End-to-end tests over real sockets on 127.0.0.1 against `FerrySimulator`.
@Suite struct OpenAIFilesClientIntegrationTests {
    static let key = SimulatorHarness.key
    static let azureVersion = "2024-10-21"

    /// A listing with a small page size follows every cursor, counts its pages and misses nothing.
    @Test func paginationOverManyFiles() async throws {
        try await withSimulator { simulator, http in
            // Given 25 files, created in a known order
            let seeded = (0..<25).map { index in
                simulator.seedFile(
                    apiKey: Self.key, filename: "f\(index).txt", purpose: "assistants", data: [UInt8(index)],
                    createdAt: 1_700_000_000 + Int64(index)
                ).id
            }
            let client = try openAIClient(simulator, http) { $0.pageSize = 4 }
            // When listing four at a time
            let listing = try await client.list()
            // Then every file comes back once, oldest first, over ceil(25 / 4) pages
            #expect(listing.files.map(\.id) == seeded)
            #expect(listing.pages == 7)
            #expect(client.stats[.list].requests == 7)
            #expect(simulator.stats().requests["GET /v1/files"] == 7)
        }
    }

    /// An empty endpoint lists in one request.
    @Test func emptyListing() async throws {
        try await withSimulator { simulator, http in
            let listing = try await openAIClient(simulator, http).list()
            #expect(listing.files.isEmpty)
            #expect(listing.pages == 1)
        }
    }

    /// create, retrieve, content, delete: the bytes come back identical and the file is then gone.
    @Test func roundTrip() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            // Given a file larger than one read chunk, with awkward characters in its name
            let data = randomBytes(700_001)
            let source = try directory.write("source.bin", data)
            let name = "naïve \"quoted\" back\\slash.jsonl"
            let client = try openAIClient(simulator, http)
            // When it is uploaded
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: name, purpose: "batch", bytes: Int64(data.count))
            )
            // Then the provider holds it under that exact name and size
            #expect(created.id.hasPrefix("file-"))
            #expect(created.filename == name)
            #expect(created.bytes == Int64(data.count))
            #expect(created.purpose == "batch")
            #expect(created.status.isUsable)
            #expect(simulator.fileContent(apiKey: Self.key, id: created.id) == data)

            let retrieved = try await client.retrieve(id: created.id)
            #expect(retrieved.id == created.id && retrieved.filename == name && retrieved.bytes == created.bytes)

            let target = directory.path + "/downloaded.bin"
            let written = try await client.content(id: created.id, to: target)
            #expect(written == Int64(data.count))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: target))) == data)

            #expect(try await client.list().files.map(\.id) == [created.id])

            try await client.delete(id: created.id)
            let missing = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(missing?.classification == .notFound)
            #expect(try await client.list().files.isEmpty)
        }
    }

    /// An empty file uploads and downloads too.
    @Test func emptyFile() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("empty.txt", [])
            let client = try openAIClient(simulator, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "empty.txt", purpose: "assistants", bytes: 0)
            )
            #expect(created.bytes == 0)
            #expect(try await client.content(id: created.id, to: directory.path + "/out") == 0)
        }
    }

    /// Deleting a file that does not exist counts as done.
    @Test func deleteOfMissingIDSucceeds() async throws {
        try await withSimulator { simulator, http in
            let client = try openAIClient(simulator, http)
            try await client.delete(id: "file-doesnotexist")
            #expect(client.stats[.delete].requests == 1)
            #expect(client.stats[.delete].retries == 0)
        }
    }

    /// Downloading a missing file is `.notFound`, and no file is left at the destination.
    @Test func contentOfMissingID() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let target = directory.path + "/never.bin"
            let client = try openAIClient(simulator, http)
            let error = await expectProviderError { _ = try await client.content(id: "file-nope", to: target) }
            #expect(error?.classification == .notFound)
            #expect(error?.status == 404)
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    /// A 429 with Retry-After is retried after exactly the header's delay, and the retry succeeds.
    @Test func rateLimitIsRetriedAfterRetryAfter() async throws {
        try await withSimulator(
            faults: FaultPlan(errorRate: ["list": 1], errorStatuses: [429], retryAfterSeconds: 3)
        ) { simulator, http in
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { configuration in
                // The "pause" records the delay and lifts the rate limit, so the retry goes through.
                configuration.clock = .system.sleeping { delay in
                    try await recorder.sleep(delay)
                    simulator.setFaults(.none)
                }
            }
            let listing = try await client.list()
            #expect(listing.pages == 1)
            #expect(recorder.delays == [.seconds(3)])
            #expect(client.stats[.list].requests == 2)
            #expect(client.stats[.list].retries == 1)
            #expect(simulator.stats().requests["GET /v1/files"] == 2)
        }
    }

    /// When the rate limit never lifts, the call ends after `maxAttempts` as `.retryable(after:)`.
    @Test func retriesRunOut() async throws {
        try await withSimulator(
            faults: FaultPlan(errorRate: ["retrieve": 1], errorStatuses: [429], retryAfterSeconds: 2)
        ) { simulator, http in
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { configuration in
                configuration.retry = RetryPolicy(maxAttempts: 3)
                configuration.clock = .system.sleeping(recorder.sleep)
            }
            let error = await expectProviderError { _ = try await client.retrieve(id: "file-x") }
            #expect(error?.classification == .retryable(after: .seconds(2)))
            #expect(error?.attempts == 3)
            #expect(error?.status == 429)
            #expect(recorder.delays == [.seconds(2), .seconds(2)])
            #expect(simulator.stats().requests["GET /v1/files/{id}"] == 3)
        }
    }

    /// A connection closed without an answer is retried for an idempotent call.
    @Test func connectionResetIsRetriedForList() async throws {
        try await withSimulator(faults: FaultPlan(resetConnectionRate: 1)) { simulator, http in
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { configuration in
                configuration.clock = .system.sleeping { delay in
                    try await recorder.sleep(delay)
                    simulator.setFaults(.none)
                }
            }
            let listing = try await client.list()
            #expect(listing.pages == 1)
            #expect(recorder.delays.count == 1)
            // Full jitter below the first ceiling.
            #expect(recorder.delays.allSatisfy { $0 <= .milliseconds(200) })
            #expect(simulator.stats().connectionResets == 1)
        }
    }

    /// A 500 on create is ambiguous and is not retried: the simulator sees exactly one POST.
    @Test func serverErrorOnCreateIsAmbiguous() async throws {
        try await withSimulator(faults: FaultPlan(errorRate: ["create": 1], errorStatuses: [500])) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.txt", Array("hello".utf8))
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { $0.clock = .system.sleeping(recorder.sleep) }
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "a.txt", purpose: "batch", bytes: 5))
            }
            #expect(error?.classification == .ambiguous)
            #expect(error?.status == 500)
            #expect(error?.attempts == 1)
            #expect(recorder.delays.isEmpty)
            #expect(simulator.stats().requests["POST /v1/files"] == 1)
        }
    }

    /// A create the provider stored before failing is ambiguous, and a listing finds the stored file to adopt.
    @Test func acceptedThenFailedCreateCanBeFoundByListing() async throws {
        try await withSimulator(faults: FaultPlan(acceptThenFailRate: 1)) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("b.txt", Array("payload".utf8))
            let client = try openAIClient(simulator, http)
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "b.txt", purpose: "batch", bytes: 7))
            }
            #expect(error?.classification == .ambiguous)
            #expect(simulator.stats().requests["POST /v1/files"] == 1)
            let files = try await client.list().files
            #expect(files.map(\.filename) == ["b.txt"])
            #expect(files.map(\.bytes) == [7])
        }
    }

    /// A 503 on create means the provider refused before storing: it is retried, and exactly one file results.
    @Test func serviceUnavailableOnCreateIsRetried() async throws {
        try await withSimulator(
            faults: FaultPlan(errorRate: ["create": 1], errorStatuses: [503], retryAfterSeconds: 1)
        ) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("c.txt", Array("ccc".utf8))
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { configuration in
                configuration.clock = .system.sleeping { delay in
                    try await recorder.sleep(delay)
                    simulator.setFaults(.none)
                }
            }
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "c.txt", purpose: "batch", bytes: 3)
            )
            #expect(recorder.delays == [.seconds(1)])
            #expect(simulator.stats().requests["POST /v1/files"] == 2)
            #expect(try await client.list().files.map(\.id) == [created.id])
        }
    }

    /// A 401 is terminal and not retried, and the key appears nowhere in the error.
    @Test func unauthorizedIsTerminalAndKeyFree() async throws {
        try await withSimulator(faults: FaultPlan(errorRate: ["list": 1], errorStatuses: [401])) { simulator, http in
            let client = try openAIClient(simulator, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.classification == .terminal)
            #expect(error?.code == .httpStatus)
            #expect(error?.status == 401)
            #expect(error?.attempts == 1)
            #expect(error?.providerMessage?.isEmpty == false)
            #expect(simulator.stats().requests["GET /v1/files"] == 1)
            #expect(error.map { !$0.allText.contains(Self.key) } == true)
        }
    }

    /// Without a key no credential header is sent, and the provider's 401 is terminal.
    @Test func missingKeyIsUnauthorized() async throws {
        try await withSimulator { simulator, http in
            let endpoint = Endpoint(kind: .openai, baseURL: simulator.openAIBaseURL, credential: .none)
            let anonymous = try OpenAIFilesClient(
                endpoint: endpoint, apiKey: nil, httpClient: http,
                configuration: ProviderClientConfiguration(clock: .system.sleeping { _ in })
            )
            let error = await expectProviderError { _ = try await anonymous.list() }
            #expect(error?.classification == .terminal)
            #expect(error?.status == 401)
        }
    }

    /// A provider that echoes the key back in its error message never gets it into Ferry's error.
    @Test func echoedKeyIsScrubbed() async throws {
        try await withSimulator { simulator, http in
            // The simulator answers an invalid limit with a 400 that quotes the value; put the key there.
            let client = try openAIClient(simulator, http)
            let url = simulator.openAIBaseURL + "/files?limit=" + Self.key
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(Self.key)")
            let error = await expectProviderError {
                _ = try await client.transport.send(request, .list, timeout: .seconds(30))
            }
            #expect(error?.status == 400)
            #expect(error?.classification == .terminal)
            #expect(error?.providerMessage?.contains(SecretScrubber.replacement) == true)
            #expect(error.map { !$0.allText.contains(Self.key) } == true)
        }
    }

    /// A source whose size on disk differs from the hashed size is refused before anything is sent.
    @Test func sizeMismatchIsTerminalBeforeSending() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("d.txt", Array("four".utf8))
            let client = try openAIClient(simulator, http)
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "d.txt", purpose: "batch", bytes: 5))
            }
            #expect(error?.code == .sourceChanged)
            #expect(error?.classification == .terminal)
            #expect(simulator.stats().requests["POST /v1/files"] == nil)

            let gone = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: directory.path + "/missing", filename: "m", purpose: "batch", bytes: 1)
                )
            }
            #expect(gone?.code == .localFile)
            #expect(gone?.classification == .terminal)
        }
    }

    /// With nothing listening, a create is retried (the provider never saw it) and ends retryable, not ambiguous.
    @Test func connectionRefusedIsRetryableEvenForCreate() async throws {
        try await withSimulatorHost(connectTimeout: .milliseconds(200)) { simulator, http, host in
            let directory = try TemporaryDirectory()
            let source = try directory.write("e.txt", Array("e".utf8))
            let recorder = SleepRecorder()
            let client = try openAIClient(simulator, http) { configuration in
                configuration.retry = RetryPolicy(maxAttempts: 3)
                configuration.clock = .system.sleeping(recorder.sleep)
            }
            try await host.stop()
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "e.txt", purpose: "batch", bytes: 1))
            }
            #expect(error?.isRetryable == true)
            #expect(error?.attempts == 3)
            #expect(recorder.delays.count == 2)
            #expect(error.map { !$0.allText.contains(Self.key) } == true)
        }
    }

    /// The Azure flavor speaks `/openai/files?api-version=` with an `api-key` header, end to end.
    @Test func azureRoundTrip() async throws {
        try await withSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(4096, seed: 99)
            let source = try directory.write("azure.jsonl", data)
            let endpoint = Endpoint(
                kind: .azure, baseURL: simulator.azureEndpoint, apiVersion: Self.azureVersion,
                credential: .environment("AZURE_KEY")
            )
            let provider = try ProviderFactory.makeProvider(
                endpoint: endpoint, apiKey: Secret(Self.key), httpClient: http,
                configuration: ProviderClientConfiguration(pageSize: 2, clock: .system.sleeping { _ in })
            )
            let client = try #require(provider as? OpenAIFilesClient)
            #expect(client.flavor == .azure(apiVersion: Self.azureVersion))

            let created = try await provider.create(
                UploadRequest(sourcePath: source, filename: "azure.jsonl", purpose: "fine-tune", bytes: 4096)
            )
            for index in 0..<3 {
                simulator.seedFile(
                    apiKey: Self.key, flavor: .azure, filename: "s\(index)", purpose: "assistants", data: [1],
                    createdAt: 1_600_000_000 + Int64(index)
                )
            }
            let listing = try await provider.list()
            #expect(listing.files.count == 4)
            #expect(listing.files.contains { $0.id == created.id && $0.filename == "azure.jsonl" })
            #expect(listing.pages == 2)
            #expect(try await provider.retrieve(id: created.id).bytes == 4096)
            let target = directory.path + "/azure.out"
            #expect(try await provider.content(id: created.id, to: target) == 4096)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: target))) == data)
            try await provider.delete(id: created.id)
            try await provider.delete(id: created.id)
            #expect(simulator.files(apiKey: Self.key, flavor: .azure).count == 3)
            // The OpenAI tenant of the same key saw nothing.
            #expect(simulator.files(apiKey: Self.key).isEmpty)
            let requests = simulator.stats().requests
            #expect(requests["POST /openai/files"] == 1)
            #expect(requests["DELETE /openai/files/{id}"] == 2)
            #expect((provider as? any ProviderStatsReporting)?.stats.totalRequests == simulator.stats().total)
        }
    }

    /// Configurations that cannot work are refused when the client is made, with a message saying what to set.
    @Test func refusedConfigurations() async throws {
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        defer { _ = http.shutdown() }
        func refusal(_ endpoint: Endpoint, _ key: Secret?) -> ProviderError? {
            do {
                _ = try ProviderFactory.makeProvider(
                    endpoint: endpoint, apiKey: key, httpClient: http, environment: [:])
                Issue.record("expected \(endpoint.displayName) to be refused")
                return nil
            } catch {
                return error as? ProviderError
            }
        }
        let azure = refusal(Endpoint(kind: .azure, baseURL: "https://example.openai.azure.com", credential: .none), nil)
        #expect(azure?.code == .invalidConfiguration)
        #expect(azure?.description.contains("api_version") == true)

        let vertex = refusal(Endpoint(kind: .vertex, baseURL: "", credential: .none), nil)
        #expect(vertex?.code == .invalidConfiguration)
        #expect(vertex?.description.contains("bucket") == true)

        let badKey = refusal(
            Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("K")),
            Secret("sk-abc\n")
        )
        #expect(badKey?.code == .invalidConfiguration)
        #expect(badKey.map { !$0.description.contains("sk-abc") } == true)

        let notHTTP = refusal(Endpoint(kind: .openai, baseURL: "ftp://example.com", credential: .none), nil)
        #expect(notHTTP?.code == .invalidConfiguration)
    }
}
