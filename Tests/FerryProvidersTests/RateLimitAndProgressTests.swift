import AsyncHTTPClient
import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

@testable import FerryProviders

/// The endpoint request rate (`rpm`) and upload progress, against the simulator over HTTP.
@Suite struct RateLimitAndProgressTests {
    /// Time that moves only when something sleeps on it; records every sleep.
    final class VirtualTime: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds = 1_800_000_000.0
        private(set) var sleeps: [Double] = []

        var clock: FerryClock {
            FerryClock(
                now: { self.lock.withLock { self.seconds } },
                sleep: { duration in
                    let delta = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                    self.lock.withLock {
                        self.sleeps.append(delta)
                        self.seconds += delta
                    }
                })
        }
        var now: Double { lock.withLock { seconds } }
    }

    /// With `rpm: 2`, five listings start at 0, 0, 60, 60 and 120 s: never more than two in a minute. Every request
    /// reached the simulator; the waits were taken on the client's clock.
    @Test func requestsPerMinuteIsEnforcedPerEndpoint() async throws {
        try await withSimulator { simulator, http in
            let time = VirtualTime()
            let client = try openAIClient(simulator, http) { configuration in
                configuration.requestsPerMinute = 2
                configuration.clock = time.clock
            }
            let start = time.now
            var starts: [Double] = []
            for _ in 0..<5 {
                _ = try await client.list()
                starts.append(time.now - start)
            }
            #expect(starts == [0, 0, 60, 60, 120])
            #expect(time.sleeps == [60, 60])
            #expect(simulator.stats().requests["GET /v1/files"] == 5)
            #expect(client.stats[.list].rateLimitWaits == 2)
            for start in starts { #expect(starts.filter { $0 >= start && $0 < start + 60 }.count <= 2) }
        }
    }

    /// Clients made again for the same endpoint (each pass of a loop makes its own) share one window.
    @Test func clientsOfOneEndpointShareTheWindow() async throws {
        try await withSimulator { simulator, http in
            let time = VirtualTime()
            let configure: (inout ProviderClientConfiguration) -> Void = { configuration in
                configuration.requestsPerMinute = 3
                configuration.clock = time.clock
            }
            for _ in 0..<3 { _ = try await openAIClient(simulator, http, configure: configure).list() }
            #expect(time.sleeps.isEmpty)
            _ = try await openAIClient(simulator, http, configure: configure).list()
            #expect(time.sleeps == [60])
        }
    }

    /// Without `rpm`, nothing waits.
    @Test func noLimitByDefault() async throws {
        try await withSimulator { simulator, http in
            let time = VirtualTime()
            let client = try openAIClient(simulator, http) { $0.clock = time.clock }
            for _ in 0..<5 { _ = try await client.list() }
            #expect(time.sleeps.isEmpty)
        }
    }

    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int64] = []
        func append(_ value: Int64) { lock.withLock { values.append(value) } }
        var all: [Int64] { lock.withLock { values } }
    }

    /// OpenAI Uploads parts sent side by side, one of them retried: progress counts the bytes of every part handed
    /// over, a retried part from its start again, and ends at the file's size.
    @Test func progressOfPartsCountsRetriesOnce() async throws {
        try await withSimulator(faults: FaultPlan(failNext: ["upload_part": [500]])) { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("large.jsonl", randomBytes(1001, seed: 5))
            let client = try openAIClient(simulator, http) { configuration in
                configuration.largeFileThreshold = 1000
                configuration.uploadPartBytes = 300
            }
            let progress = Progress()
            _ = try await client.create(
                UploadRequest(
                    sourcePath: source, filename: "large.jsonl", purpose: "batch", bytes: 1001,
                    progress: UploadProgress(totalBytes: 1001) { sent, _ in progress.append(sent) }))
            #expect(simulator.stats().injectedErrors == 1)
            #expect(progress.all.last == 1001)
            #expect(progress.all.max() == 1001)
        }
    }

    /// A Cloud Storage resumable upload cut short: progress goes back to what the session kept (256 KiB) and
    /// resumes from there to the end.
    @Test func progressOfAResumedUpload() async throws {
        let simulator = Simulator(configuration: SimulatorConfiguration(logLevel: .critical, gcsAuthentication: .anonymous))
        let host = ServiceHost(simulator)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await http.shutdown(); await host.stopQuietly() } }
        _ = try await simulator.listeningPort()
        let directory = try TemporaryDirectory()
        let source = try directory.write("big.bin", randomBytes(700_000, seed: 12))
        simulator.setFaults(FaultPlan(truncateNextChunks: [300_000]))
        var configuration = ProviderClientConfiguration(clock: .system.sleeping { _ in })
        configuration.largeFileThreshold = 1000
        let client = try ProviderFactory.makeProvider(
            endpoint: Endpoint(kind: .vertex, baseURL: "", bucket: "ferry-test/ferry", credential: .none),
            apiKey: nil, httpClient: http, configuration: configuration,
            environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:\(simulator.port)"])
        let progress = Progress()
        _ = try await client.create(
            UploadRequest(
                sourcePath: source, filename: "big.bin", purpose: "batch", bytes: 700_000,
                progress: UploadProgress(totalBytes: 700_000) { sent, _ in progress.append(sent) }))
        let values = progress.all
        #expect(values.last == 700_000)
        #expect(values.contains(262_144), "\(values)")
        let back = try #require(values.firstIndex(of: 262_144))
        #expect(values[..<back].max() == 700_000, "the first attempt handed everything over before the 503")
        #expect(Array(values[back...]) == values[back...].sorted(), "then only forward")
    }
}
