import AsyncHTTPClient
import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

@testable import FerryProviders

/// Invariant 2 at the Cloud Storage client: once an attempt of a create may have stored the object, no later
/// failure of the same create may be reported as "certainly not stored" (`.terminal` / `.notFound`), or the
/// engine closes its write-ahead intent and the object is orphaned (then uploaded again: a duplicate).
///
/// Each test is deterministic: the simulator's fault plan is switched between attempts from the client's retry
/// pause (`ProviderClientConfiguration.clock`), so attempt 1 and attempt 2 meet exactly the faults named.
@Suite("Cloud Storage creates that stored the object and then failed", .serialized)
struct GCSStoredThenFailedTests {
    static let bucket = "ferry-test"

    /// Runs `body` with a simulator accepting anonymous Cloud Storage requests, and stops everything after.
    private func withGCSSimulator(_ body: (Simulator, HTTPClient) async throws -> Void) async throws {
        let simulator = Simulator(
            configuration: SimulatorConfiguration(logLevel: .critical, gcsAuthentication: .anonymous))
        let host = ServiceHost(simulator)
        let http = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: ProviderClientConfiguration().makeHTTPClientConfiguration()
        )
        do {
            _ = try await simulator.listeningPort()
            try await body(simulator, http)
        } catch {
            try? await http.shutdown()
            await host.stopQuietly()
            throw error
        }
        try await http.shutdown()
        try await host.stop()
    }

    /// A client whose retry pause calls `between(retry)` (1 before the second attempt) instead of sleeping.
    private func client(
        _ simulator: Simulator, _ http: HTTPClient, largeFileThreshold: Int64? = nil,
        between: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws -> GCSClient {
        let retries = Counter()
        var configuration = ProviderClientConfiguration(
            requestTimeout: .seconds(30), clock: .system.sleeping { _ in between(retries.next()) })
        configuration.largeFileThreshold = largeFileThreshold
        let endpoint = Endpoint(
            kind: .vertex, baseURL: simulator.gcsBaseURL, bucket: "\(Self.bucket)/ferry", credential: .none)
        return try GCSClient(
            endpoint: endpoint, credentials: .anonymous, httpClient: http, configuration: configuration,
            storageBaseURL: simulator.gcsBaseURL)
    }

    private func upload(_ directory: TemporaryDirectory, bytes: Int) throws -> UploadRequest {
        let path = try directory.write("handbook.md", randomBytes(bytes, seed: 5))
        return UploadRequest(sourcePath: path, filename: "handbook.md", purpose: "assistants", bytes: Int64(bytes))
    }

    private func ferryObjects(_ simulator: Simulator) -> [String] {
        simulator.objects(bucket: Self.bucket).map(\.filename).filter { $0.hasPrefix("ferry/") }
    }

    /// Attempt 1 stores the object and answers 500 (its answer is lost); attempt 2 is refused with 403 before the
    /// object is looked at. The object exists, so the create must end `.ambiguous`, never `.terminal`.
    @Test func refusedRetryAfterLostAnswerIsAmbiguous() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(acceptThenFailRate: 1.0))
            let client = try client(simulator, http) { _ in
                simulator.setFaults(FaultPlan(errorRate: ["gcs.upload": 1.0], errorStatuses: [403]))
            }
            let error = await expectProviderError { _ = try await client.create(try upload(directory, bytes: 900)) }
            #expect(simulator.stats().acceptedThenFailed == 1)
            #expect(ferryObjects(simulator).count == 1)
            #expect(error?.status == 403)
            #expect(error?.classification == .ambiguous, "\(String(describing: error))")
        }
    }

    /// Attempt 1 stores the object and answers 500; attempt 2 meets 412 (the name is taken, by attempt 1), and
    /// reading the object back is refused (403). The object is there: `.ambiguous`.
    @Test func refusedReadBackAfterPreconditionIsAmbiguous() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(errorRate: ["gcs.get": 1.0], errorStatuses: [403], acceptThenFailRate: 1.0))
            let client = try client(simulator, http)
            let error = await expectProviderError { _ = try await client.create(try upload(directory, bytes: 900)) }
            #expect(ferryObjects(simulator).count == 1)
            #expect(error?.operation == .retrieve && error?.status == 403)
            #expect(error?.classification == .ambiguous, "\(String(describing: error))")
        }
    }

    /// The same after a 412 when the read-back answers 404 (`.notFound` would also close the intent).
    @Test func missingReadBackAfterPreconditionIsAmbiguous() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(errorRate: ["gcs.get": 1.0], errorStatuses: [404], acceptThenFailRate: 1.0))
            let client = try client(simulator, http)
            let error = await expectProviderError { _ = try await client.create(try upload(directory, bytes: 900)) }
            #expect(ferryObjects(simulator).count == 1)
            #expect(error?.classification == .ambiguous, "\(String(describing: error))")
        }
    }

    /// Resumable: the last chunk stores the object and answers 500; the session status query of the retry is
    /// refused (403). `.ambiguous`.
    @Test func resumableRefusedStatusAfterLostAnswerIsAmbiguous() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(acceptThenFailRate: 1.0))
            let client = try client(simulator, http, largeFileThreshold: 1000) { _ in
                simulator.setFaults(FaultPlan(errorRate: ["gcs.resumable": 1.0], errorStatuses: [403]))
            }
            let error = await expectProviderError { _ = try await client.create(try upload(directory, bytes: 5000)) }
            #expect(simulator.stats().acceptedThenFailed == 1)
            #expect(ferryObjects(simulator).count == 1)
            #expect(error?.classification == .ambiguous, "\(String(describing: error))")
        }
    }

    /// With the faults gone, a lost answer is still adopted on the retry: one object, no error (unchanged).
    @Test func lostAnswerIsAdopted() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(acceptThenFailRate: 1.0))
            let client = try client(simulator, http) { _ in simulator.setFaults(.none) }
            let created = try await client.create(try upload(directory, bytes: 900))
            #expect(ferryObjects(simulator).map { "gs://\(Self.bucket)/\($0)" } == [created.id])
            #expect(created.bytes == 900)
        }
    }

    /// No false alarm: a create refused on every attempt (first 503, then 403) stored nothing and stays
    /// `.terminal`, so the engine may close its intent.
    @Test func refusedCreateStaysTerminal() async throws {
        try await withGCSSimulator { simulator, http in
            let directory = try TemporaryDirectory()
            simulator.setFaults(FaultPlan(errorRate: ["gcs.upload": 1.0], errorStatuses: [429]))
            let client = try client(simulator, http) { _ in
                simulator.setFaults(FaultPlan(errorRate: ["gcs.upload": 1.0], errorStatuses: [403]))
            }
            let error = await expectProviderError { _ = try await client.create(try upload(directory, bytes: 900)) }
            #expect(ferryObjects(simulator).isEmpty)
            #expect(error?.status == 403)
            #expect(error?.classification == .terminal)
        }
    }
}

/// Counts calls (1, 2, …) from any thread.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
