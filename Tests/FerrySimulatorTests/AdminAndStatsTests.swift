import FerryTestSupport
import Foundation
import Testing

@testable import FerrySimulator

@Suite("Stats and admin API")
struct AdminAndStatsTests {
    @Test("requests are counted per route; admin requests are not")
    func statsCounting() async throws {
        try await withSimulator { sim in
            let a = try await upload(sim, key: "k", filename: "a.txt", data: [1])
            _ = try await upload(sim, key: "k", filename: "b.txt", data: [2, 3])
            let id = try #require(a.json["id"] as? String)
            for _ in 0..<3 { _ = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k")) }
            _ = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("k"))
            _ = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)/content", headers: bearer("k"))
            _ = try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("k"))
            _ = try await send(.GET, "\(sim.azureEndpoint)/openai/files?api-version=2024-10-21", headers: [("api-key", "k")])
            _ = try await send(.GET, "\(sim.azureEndpoint)/_sim/health")
            _ = try await send(.GET, "\(sim.azureEndpoint)/_sim/stats")

            let stats = sim.stats()
            #expect(
                stats.requests == [
                    "POST /v1/files": 2, "GET /v1/files": 3, "GET /v1/files/{id}": 1,
                    "GET /v1/files/{id}/content": 1, "DELETE /v1/files/{id}": 1, "GET /openai/files": 1,
                ])
            #expect(stats.total == 9)
            #expect(stats.responses == ["200": 9])
            #expect(stats.bytesUploaded == 3)
            #expect(stats.bytesDownloaded == 1)
            #expect(stats.injectedFaults == 0)

            let viaHTTP = try await send(.GET, "\(sim.azureEndpoint)/_sim/stats")
            #expect(viaHTTP.status == 200)
            let decoded = try JSONDecoder().decode(SimulatorStats.self, from: Data(viaHTTP.body))
            #expect(decoded == stats)

            let reset = try await send(.POST, "\(sim.azureEndpoint)/_sim/stats/reset")
            #expect(reset.status == 204)
            #expect(sim.stats() == SimulatorStats())
            _ = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(sim.stats().total == 1)
            sim.resetStats()
            #expect(sim.stats().total == 0)
        }
    }

    @Test("PUT /_sim/faults replaces the plan; bad plans are refused")
    func faultsEndpoint() async throws {
        try await withSimulator { sim in
            let health = try await send(.GET, "\(sim.azureEndpoint)/_sim/health")
            #expect(health.text == "{\"status\":\"ok\"}")

            let body = Array("{\"seed\":5,\"errorRate\":{\"list\":1},\"errorStatuses\":[502]}".utf8)
            let put = try await send(
                .PUT, "\(sim.azureEndpoint)/_sim/faults", headers: [("Content-Type", "application/json")], body: body)
            #expect(put.status == 200)
            #expect(sim.faults == FaultPlan(seed: 5, errorRate: ["list": 1], errorStatuses: [502]))
            let listed = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(listed.status == 502)

            let current = try await send(.GET, "\(sim.azureEndpoint)/_sim/faults")
            #expect(try JSONDecoder().decode(FaultPlan.self, from: Data(current.body)) == sim.faults)

            let bad = try await send(
                .PUT, "\(sim.azureEndpoint)/_sim/faults", body: Array("{\"errorRate\":{\"list\":2}}".utf8))
            #expect(bad.status == 400)
            let garbage = try await send(.PUT, "\(sim.azureEndpoint)/_sim/faults", body: Array("nope".utf8))
            #expect(garbage.status == 400)
            #expect(sim.faults.errorStatuses == [502])

            _ = try await send(.PUT, "\(sim.azureEndpoint)/_sim/faults", body: Array("{}".utf8))
            #expect(sim.faults == .none)
            #expect(try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k")).status == 200)
        }
    }

    @Test("port is 0 until listening and after the run; a graceful shutdown closes the listener; one run only")
    func lifecycle() async throws {
        let sim = Simulator()
        #expect(sim.port == 0)
        let host = ServiceHost(sim)
        let port = try await sim.listeningPort()
        #expect(port > 0)
        #expect(sim.port == port)
        #expect(sim.openAIBaseURL == "http://127.0.0.1:\(port)/v1")
        #expect(sim.azureEndpoint == "http://127.0.0.1:\(port)")
        #expect(try await sim.listeningPort() == port)
        sim.seedFile(apiKey: "k", filename: "kept.txt", purpose: "assistants", data: [1])
        try await host.stop()
        #expect(sim.port == 0)
        await #expect(throws: (any Error).self) {
            // AsyncHTTPClient retries a refused connection until the deadline: keep it short.
            _ = try await send(.GET, "http://127.0.0.1:\(port)/_sim/health", timeout: .seconds(2))
        }
        // An instance runs once; what it held stays inspectable.
        await #expect(throws: SimulatorError.self) { try await sim.run() }
        #expect(sim.files(apiKey: "k").map(\.filename) == ["kept.txt"])
    }

    @Test("a graceful shutdown lets a request in flight finish")
    func drainsInFlight() async throws {
        let sim = Simulator(configuration: SimulatorConfiguration(faults: FaultPlan(latencyMilliseconds: 500)))
        let host = ServiceHost(sim)
        _ = try await sim.listeningPort()
        async let answer = send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
        try await Task.sleep(for: .milliseconds(150))
        try await host.stop()
        #expect(try await answer.status == 200)
    }

    @Test("a busy port is reported by run and listeningPort")
    func busyPort() async throws {
        try await withSimulator { first in
            let second = Simulator(configuration: SimulatorConfiguration(port: first.port))
            await #expect(throws: (any Error).self) { try await second.run() }
            await #expect(throws: (any Error).self) { _ = try await second.listeningPort() }
            #expect(second.port == 0)
        }
    }
}
